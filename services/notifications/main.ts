import { runMain } from '../platform/index.js';
import { bootNotifications } from './service.js';

runMain('notifications', async () => (await bootNotifications(process.env)).runtime);
