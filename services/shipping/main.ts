import { runMain } from '../platform/index.js';
import { bootShipping } from './service.js';

runMain('shipping', async () => (await bootShipping(process.env)).runtime);
