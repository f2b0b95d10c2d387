export { adminKeyHeader, requireAdmin } from './authorize.js';
export { adminGrpc, type AdminDependencies } from './grpc.js';
