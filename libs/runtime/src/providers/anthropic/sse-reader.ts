/** One server-sent event: its `event:` name (default 'message') and its `data:` lines joined. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Parses an SSE byte stream (text/event-stream framing: `\n`, `\r\n` or `\r` line ends, blank line ends an
 * event, `:` comments). `onBytes` is called on every read, for idle timeouts. A partial event left when the
 * stream ends is dropped, as the SSE spec says.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, onBytes: () => void = () => undefined): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      onBytes();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}
