import { InvalidJsonError } from './errors';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** JSON as UTF-8 bytes. `undefined` becomes `null`, so every message body is valid JSON. */
export function encodeJson(v: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(v) ?? 'null');
}

/** Parses UTF-8 JSON bytes; throws InvalidJsonError on an empty body, invalid UTF-8 or invalid JSON. */
export function decodeJson(data: Uint8Array): unknown {
  if (data.length === 0) throw new InvalidJsonError('empty body');
  let text: string;
  try {
    text = decoder.decode(data);
  } catch (err) {
    throw new InvalidJsonError('body is not valid UTF-8', err);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidJsonError((err as Error).message, err);
  }
}
