import { runMain } from '../platform/index.js';
import { bootQuery } from './service.js';

runMain('query', async () => (await bootQuery(process.env)).runtime);
