export { bootQuery, projectionConsumers, queryEnv, type QueryService } from './service.js';
export { foldOrderView, type OrderViewState, type ViewEvent } from './order-view.js';
export { salesAnalytics, salesOf, percentile } from './analytics.js';
