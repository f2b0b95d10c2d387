// The shipping service's public face: how to start it and what it is configured by.
export { bootShipping, shippingCommandsConsumer, shippingEnv, type ShippingOverrides, type ShippingService } from './service.js';
export type { ShippingPolicy } from './decide.js';
