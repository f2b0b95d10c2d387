// The inventory service's public face: how to start it and what it is configured by.
export { bootInventory, inventoryCommandsConsumer, inventoryEnv, type InventoryOverrides, type InventoryService } from './service.js';
