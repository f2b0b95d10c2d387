export { batchLoader, connection, pageSize } from './loaders.js';
export { fieldPath, graphqlErrorFromGrpc, viaGrpc, type FieldNaming, type GraphQLFieldViolation } from './errors.js';
export { DateTimeScalar, decimalAmount, enumNames, protoEnum, sharedResolvers, sharedTypeDefs } from './scalars.js';
export { formatGraphQLError, startSubgraphServer, type SubgraphDefinition, type SubgraphServer } from './subgraph.js';
