export { adminGrpc, type AdminDependencies } from './grpc.js';
