export { notificationStreams } from './handlers.js';
export { bootNotifications, notificationsEnv, type NotificationsOverrides, type NotificationsService } from './service.js';
export { formatMoney, render, type OrderContact, type RenderedMail, type Trigger } from './templates.js';
