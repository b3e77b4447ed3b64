import type { Tool } from './tool';

export interface HttpFetchOptions {
  /** Largest body read, in bytes; the rest is not downloaded. Default 256 KiB. */
  maxBytes?: number;
  /** Longest a fetch may take, redirects and body included. Default 10 s. */
  timeoutMs?: number;
  /** Redirects followed, each checked against the allowlist. Default 5. */
  maxRedirects?: number;
}

/**
 * Whether `host` (a URL's hostname) is on the allowlist: an entry is an exact host (`api.example.com`,
 * `127.0.0.1`) or `*.example.com`, which matches any subdomain of example.com but not example.com itself.
 */
export function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowHosts.some((entry) => {
    const e = entry.toLowerCase();
    if (e.startsWith('*.')) return h.endsWith(e.slice(1)) && h.length > e.length - 1;
    return h === e;
  });
}

/**
 * The `http_fetch` tool: GET one http(s) URL on a host of the agent's `http.allowHosts` and return the
 * status and the start of the body as text. Other schemes, hosts off the list (also as redirect targets),
 * and an agent with no allowlist are refused; bodies are cut at `maxBytes`. The allowlist is by host name:
 * list only hosts whose every address the agent may reach.
 */
export function httpFetchTool(options: HttpFetchOptions = {}): Tool {
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRedirects = options.maxRedirects ?? 5;
  return {
    name: 'http_fetch',
    description: 'GET a web page or API by URL (http or https, allowed hosts only); returns the status and the text of the body.',
    parameters: {
      type: 'object',
      properties: { url: { type: 'string', minLength: 1, maxLength: 4096, description: 'Absolute http(s) URL' } },
      required: ['url'],
      additionalProperties: false,
    },
    async run(args, ctx) {
      const allowHosts = ctx.agent.http?.allowHosts ?? [];
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
      let url = checkedUrl(String(args['url']), allowHosts);
      for (let redirects = 0; ; redirects++) {
        const res = await fetch(url, { method: 'GET', redirect: 'manual', signal, headers: { accept: 'text/*, application/json;q=0.9, */*;q=0.5' } });
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
          await res.body?.cancel().catch(() => undefined);
          if (redirects >= maxRedirects) throw new Error(`too many redirects (more than ${maxRedirects})`);
          url = checkedUrl(new URL(location, url).href, allowHosts, 'redirect to ');
          continue;
        }
        const { text, truncated } = await readCapped(res, maxBytes);
        const type = res.headers.get('content-type') ?? 'unknown';
        return `HTTP ${res.status} ${res.statusText}\ncontent-type: ${type}\n\n${text}${truncated ? `\n[truncated at ${maxBytes} bytes]` : ''}`;
      }
    },
  };
}

function checkedUrl(raw: string, allowHosts: readonly string[], what = ''): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${what}"${raw.slice(0, 200)}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${what}${url.protocol} URLs are refused: only http and https`);
  if (url.username || url.password) throw new Error(`${what}URLs with credentials are refused`);
  if (!hostAllowed(url.hostname, allowHosts)) {
    throw new Error(
      allowHosts.length === 0
        ? `${what}host "${url.hostname}" is refused: this agent has no http.allowHosts`
        : `${what}host "${url.hostname}" is refused: not on this agent's allowlist`,
    );
  }
  return url;
}

async function readCapped(res: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - size;
    if (value.byteLength > room) {
      parts.push(value.subarray(0, room));
      size += room;
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    parts.push(value);
    size += value.byteLength;
  }
  // fatal: false, so a multi-byte character cut at the cap becomes one replacement character.
  return { text: new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(parts)), truncated };
}
