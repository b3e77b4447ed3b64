import { API_KEY } from './mesh';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small client for the gateway: JSON in, JSON out, the dev tenant's key unless told otherwise. */
export function client(base: string, key: string | null = API_KEY) {
  const request = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (key !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
    if (typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${base}${path}`, { ...init, headers });
  };
  const json = async <T = any>(path: string, init: RequestInit = {}): Promise<JsonResponse<T>> => {
    const res = await request(path, init);
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
  };
  return {
    request,
    json,
    post: <T = any>(path: string, body: unknown, headers: Record<string, string> = {}) =>
      json<T>(path, { method: 'POST', body: JSON.stringify(body), headers }),
    get: <T = any>(path: string) => json<T>(path),
  };
}

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** Parses a text/event-stream body into events, until the server ends the stream. */
export async function readSse(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of sseEvents(res)) events.push(event);
  return events;
}

/** The events of a text/event-stream body as they arrive; stop early with break (and abort the request). */
export async function* sseEvents(res: Response): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: Partial<SseEvent> & { dataLines: string[] } = { dataLines: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
        else if (field === 'data') event.dataLines.push(value);
      }
      if (event.dataLines.length) {
        yield { event: event.event ?? 'message', ...(event.id ? { id: event.id } : {}), data: JSON.parse(event.dataLines.join('\n')) };
      }
    }
  }
}
