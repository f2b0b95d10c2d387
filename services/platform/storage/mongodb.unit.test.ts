import { describe, expect, it } from 'vitest';
import { databaseNameFromUri } from './mongodb.js';

describe('databaseNameFromUri', () => {
  it('reads the database from the path of single-host, multi-host and +srv URIs', () => {
    expect(databaseNameFromUri('mongodb://mongo:27017/orders')).toBe('orders');
    expect(databaseNameFromUri('mongodb://user:p%40ss@a:1,b:2/shop?replicaSet=rs0')).toBe('shop');
    expect(databaseNameFromUri('mongodb+srv://cluster.example.net/my%20db?retryWrites=true')).toBe('my db');
  });

  it('has no name when the path is empty', () => {
    expect(databaseNameFromUri('mongodb://mongo:27017/?replicaSet=rs0')).toBeUndefined();
    expect(databaseNameFromUri('mongodb://mongo:27017')).toBeUndefined();
    expect(databaseNameFromUri('mongodb://a:1,b:2')).toBeUndefined();
  });
});
