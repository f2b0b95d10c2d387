// Identity and access: who is calling (caller.ts), how tokens are verified (authenticator.ts),
// the one access table (policy.ts), the GraphQL check (graphql.ts), the development issuer.
export {
  anonymous,
  callerFromClaims,
  describeCaller,
  mayAccess,
  requireAccess,
  requireAdmin,
  scopedCustomer,
  type Caller,
  type Role,
} from './caller.js';
export { authenticatorFrom, bearerToken, disabledAuthenticator, jwtAuthenticator, type Authenticator, type IssuerSettings } from './authenticator.js';
export { decide, graphqlPolicy, grpcPolicy, type Decision, type Rule } from './policy.js';
export { authorizationPlugin, checkOperation, refusal, type CallerContext } from './graphql.js';
export { actingAsSelf, actingFor, outgoingAuthorization } from './forwarding.js';
export {
  issuerFile,
  loadOrCreateSigningKey,
  loadSigningKey,
  mintServiceToken,
  mintToken,
  readIssuerFile,
  serveJwks,
  signingKeyFile,
  writeIssuerFile,
  type JwksServer,
  type SigningKey,
  type TokenClaims,
} from './issuer.js';
