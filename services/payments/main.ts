import { runMain } from '../platform/index.js';
import { bootPayments } from './service.js';

runMain('payments', async () => (await bootPayments(process.env)).runtime);
