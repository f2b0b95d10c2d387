import { runMain } from '../platform/index.js';
import { bootOrders } from './service.js';

runMain('orders', async () => (await bootOrders(process.env)).runtime);
