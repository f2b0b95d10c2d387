// Every answer the gateway gives outside GraphQL execution is GraphQL-shaped JSON too: a body that
// is not JSON, one too large, an unknown path. Express's own handlers would answer HTML with a
// stack trace and the server's absolute paths.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../services/platform/index.js';

/** `{ errors: [{ message, extensions: { code } }] }` with `status`. */
function sendError(res: Parameters<RequestHandler>[1], status: number, code: string, message: string): void {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/** What body-parser's errors (their `type`) mean to a caller. */
const bodyErrors: Record<string, { code: string; message: (limit?: number) => string }> = {
  'entity.parse.failed': { code: 'BAD_REQUEST', message: () => 'the request body is not valid JSON' },
  'entity.too.large': { code: 'PAYLOAD_TOO_LARGE', message: (limit) => `the request body is larger than ${limit ?? 'the limit of'} bytes` },
  'entity.verify.failed': { code: 'BAD_REQUEST', message: () => 'the request body cannot be read' },
  'request.aborted': { code: 'BAD_REQUEST', message: () => 'the request was aborted' },
  'request.size.invalid': { code: 'BAD_REQUEST', message: () => 'the request body is not as long as its Content-Length says' },
  'encoding.unsupported': { code: 'UNSUPPORTED_MEDIA_TYPE', message: () => 'the request body has a Content-Encoding the gateway does not read' },
  'charset.unsupported': { code: 'UNSUPPORTED_MEDIA_TYPE', message: () => 'the request body has a charset the gateway does not read' },
};

const codeByStatus: Record<number, string> = { 400: 'BAD_REQUEST', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };

/** The last handler: any path nothing else answered. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, 'NOT_FOUND', `nothing is served at ${req.method} ${req.path}: GraphQL is at POST /graphql`);
};

/** The error handler: body-parser's errors by their meaning, anything else as an internal error, logged. */
export function jsonErrors(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { type, status, limit } = (err ?? {}) as { type?: unknown; status?: unknown; limit?: unknown };
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // body-parser's errors (http-errors, with a `type`); its own messages name internals.
      const known = typeof type === 'string' ? bodyErrors[type] : undefined;
      const code = known?.code ?? codeByStatus[status] ?? 'BAD_REQUEST';
      sendError(res, status, code, known?.message(typeof limit === 'number' ? limit : undefined) ?? 'the request body cannot be read');
      return;
    }
    logger.error({ err }, 'gateway request failed');
    sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal error');
  };
}
