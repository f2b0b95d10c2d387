export { adminGrpc, type AdminDependencies } from './grpc.js';
export { deadLetterResolvers, deadLetterTypeDefs } from './subgraph.js';
