import { runMain } from '../platform/index.js';
import { bootInventory } from './service.js';

runMain('inventory', async () => (await bootInventory(process.env)).runtime);
