// The payments service's public face: how to start it, what configures it, and the simulated
// gateway's tokens and ledger (for system tests that check no money was kept).
export { bootPayments, paymentsCommandsConsumer, paymentsEnv, type PaymentsOverrides, type PaymentsService } from './service.js';
export { GatewayRejectedError, GatewayUnavailableError, type CardGateway, type ChargeRequest, type ChargeResponse, type RefundRequest, type RefundResponse } from './gateway.js';
export { cardTokens, readGatewayLedger, SimulatedCardGateway, type GatewayLedger } from './simulated-gateway.js';
