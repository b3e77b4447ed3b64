import { ErrorCodes, jsonDepthExceeds, KeelsonError, type ErrorBody } from '@keelson/contracts';

/** An HTTP request as the handler sees it, whatever carried it (Lambda, a test, another platform's adapter). */
export interface FunctionRequest {
  method: string;
  /** The path as received; a stage prefix before `/v1/` (API Gateway's `/prod/v1/...`) is allowed. */
  path: string;
  /** Header names in any case; a repeated header joined with commas, as API Gateway does. */
  headers: Record<string, string | undefined>;
  /** The raw body bytes (already base64-decoded by the adapter), or none. */
  body?: Buffer | string | undefined;
  /** Shown in a 500's message so the operator can find the failure in the logs (Lambda's request id). */
  requestId?: string;
}

export interface FunctionResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text. */
  body: string;
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): FunctionResponse {
  return { status, headers: { 'content-type': JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(value) };
}

// An absolute file path or a stack frame: never in a 5xx body (the gateway's publicServerMessage rule).
const FILE_PATH = /(?:[A-Za-z]:\\|\/)(?:[\w.@-]+[\\/])+[\w.@-]*(?::\d+){0,2}/g;
const STACK_FRAME = /\n\s*at\s[\s\S]*$/;

/** The gateway's error answer for anything thrown: a KeelsonError as its body, anything else 500 internal_error. */
export function errorResponse(err: unknown, requestId?: string, headers: Record<string, string> = {}): FunctionResponse {
  if (err instanceof KeelsonError) {
    const body = err.toBody();
    if (err.status >= 500) body.error.message = body.error.message.replace(STACK_FRAME, '').replace(FILE_PATH, '[path]');
    return jsonResponse(err.status, body, headers);
  }
  const message = requestId ? `internal error; the operator can find it in the logs by request id ${requestId}` : 'internal error';
  const body: ErrorBody = { error: { code: ErrorCodes.internal, message } };
  return jsonResponse(500, body, headers);
}

/** A header's value whatever the case of its name. */
export function header(headers: FunctionRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/**
 * The body as the gateway takes it: at most `limit` bytes (413), JSON only (415), nested at most `maxDepth`
 * (400 json_too_deep), valid JSON without prototype-poisoning keys (400 invalid_json). Empty: undefined.
 */
export function parseJsonBody(request: FunctionRequest, limit: number, maxDepth: number): unknown {
  const raw = request.body === undefined ? Buffer.alloc(0) : typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
  if (raw.length > limit) throw new KeelsonError(413, ErrorCodes.payloadTooLarge, 'request body is larger than allowed');
  if (raw.length === 0) return undefined;
  const type = (header(request.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new KeelsonError(415, ErrorCodes.unsupportedMediaType, 'send the body as application/json');
  const text = raw.toString('utf8');
  if (jsonDepthExceeds(text, maxDepth)) {
    throw new KeelsonError(400, ErrorCodes.jsonTooDeep, `the JSON body is nested deeper than the limit of ${maxDepth} levels`);
  }
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new SyntaxError('Object contains forbidden prototype property');
      if (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value) {
        throw new SyntaxError('Object contains forbidden prototype property');
      }
      return value;
    });
  } catch (err) {
    throw new KeelsonError(400, ErrorCodes.invalidJson, `the body is not valid JSON: ${(err as Error).message}`);
  }
}
