/**
 * The `data` of each Server-Sent Event in a byte stream (multi-line data joined with `\n`; comments and
 * other fields ignored). `read` returns the next bytes or undefined at the end; it is where timeouts live.
 */
export async function* sseData(read: () => Promise<Uint8Array | undefined>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  for (;;) {
    const bytes = await read();
    buffer += bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
    const lines = buffer.split(/\r\n|\r|\n/);
    // The last piece may be an incomplete line, unless the stream ended.
    buffer = bytes === undefined ? '' : lines.pop()!;
    for (const line of lines) {
      if (line === '') {
        if (data.length) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
    }
    if (bytes === undefined) {
      // An event not closed by a blank line at the very end still counts (some servers omit the last one).
      if (data.length) yield data.join('\n');
      return;
    }
  }
}
