// The orders service's public face: how to start it, what configures it, and the saga's shape
// (for system tests that check the configured step order).
export { bootOrders, ordersEnv, sagaTiming, stepDeadlineVariable, type OrdersOverrides, type OrdersService } from './service.js';
export { replyStreams } from './handlers.js';
export { orderStream } from './order.js';
export { defaultPlan, parsePlan, stepDefinitions, stepNames, type StepName } from './saga.js';
export type { Catalog } from './pricing.js';
