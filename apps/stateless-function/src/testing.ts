import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** The payload format 2.0 sample of AWS's documentation ("Working with AWS Lambda proxy integrations for HTTP APIs"). */
export const SAMPLE_EVENT_FILE = join(__dirname, '..', 'src', 'fixtures', 'http-api-v2-event.json');

export interface InvokeEventOptions {
  agentId?: string;
  authorization?: string;
  body?: string;
  base64?: boolean;
  method?: string;
  contentType?: string;
  path?: string;
}

/** The AWS sample event turned into a call of the invoke route (what a Function URL or an HTTP API sends). */
export function invokeEvent(options: InvokeEventOptions = {}): APIGatewayProxyEventV2 {
  const event = JSON.parse(readFileSync(SAMPLE_EVENT_FILE, 'utf8')) as APIGatewayProxyEventV2;
  const path = options.path ?? `/v1/agents/${options.agentId ?? 'assistant'}/invoke`;
  const body = options.body ?? JSON.stringify({ input: 'hello from a function' });
  event.rawPath = path;
  event.rawQueryString = '';
  event.requestContext.http.path = path;
  event.requestContext.http.method = options.method ?? 'POST';
  event.headers = {
    ...event.headers,
    'content-type': options.contentType ?? 'application/json',
    ...(options.authorization ? { authorization: options.authorization } : {}),
  };
  event.body = options.base64 ? Buffer.from(body, 'utf8').toString('base64') : body;
  event.isBase64Encoded = options.base64 ?? false;
  return event;
}

/** Writes a keys file (salted hashes, as the gateway reads) and returns the keys in clear. */
export function writeKeysFile(dir: string): { file: string; invokeKey: string; sessionsOnlyKey: string } {
  const invokeKey = `ks_test_${randomBytes(16).toString('hex')}`;
  const sessionsOnlyKey = `ks_test_${randomBytes(16).toString('hex')}`;
  const entry = (id: string, key: string, scopes: string[]) => {
    const salt = randomBytes(16).toString('hex');
    return { id, tenant: 'dev', salt, hash: createHash('sha256').update(salt).update(key).digest('hex'), scopes };
  };
  const file = join(dir, 'api-keys.json');
  writeFileSync(file, JSON.stringify({ keys: [entry('fn-invoke', invokeKey, ['invoke']), entry('fn-sessions', sessionsOnlyKey, ['sessions'])] }));
  return { file, invokeKey, sessionsOnlyKey };
}
