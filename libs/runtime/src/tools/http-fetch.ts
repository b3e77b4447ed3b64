import { egressFetch, hostAllowed } from '@keelson/guard';
import type { Tool } from './tool';

export interface HttpFetchOptions {
  /** Largest body read, in bytes; the rest is not downloaded. Default 256 KiB. */
  maxBytes?: number;
  /** Longest a fetch may take, redirects and body included. Default 10 s. */
  timeoutMs?: number;
  /** Redirects followed, each checked against the allowlist. Default 5. */
  maxRedirects?: number;
  /**
   * Exact addresses reachable although their range is refused (loopback, private): an on-premises service,
   * or the local stack's and the tests' servers on 127.0.0.1 (EGRESS_ALLOW_ADDRESSES).
   */
  allowAddresses?: readonly string[];
}

export { hostAllowed };

/**
 * The `http_fetch` tool: GET one http(s) URL on a host of the agent's `http.allowHosts` and return the
 * status and the start of the body as text, through the guard's egress policy (@keelson/guard egressFetch):
 * other schemes, credentials in URLs, hosts off the list (also as redirect targets), private, loopback,
 * link-local and metadata addresses (after DNS resolution too, and for every redirect) are refused; bodies
 * are cut at `maxBytes`, the whole fetch at `timeoutMs`.
 */
export function httpFetchTool(options: HttpFetchOptions = {}): Tool {
  const maxBytes = options.maxBytes ?? 256 * 1024;
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
      const res = await egressFetch(
        String(args['url']),
        {
          allowHosts: ctx.agent.http?.allowHosts ?? [],
          maxBytes,
          timeoutMs: options.timeoutMs ?? 10_000,
          maxRedirects: options.maxRedirects ?? 5,
          ...(options.allowAddresses ? { allowAddresses: options.allowAddresses } : {}),
        },
        { signal: ctx.signal, headers: { accept: 'text/*, application/json;q=0.9, */*;q=0.5' } },
      );
      const type = String(res.headers['content-type'] ?? 'unknown');
      // fatal: false, so a multi-byte character cut at the cap becomes one replacement character.
      const text = new TextDecoder('utf-8', { fatal: false }).decode(res.body);
      return `HTTP ${res.status} ${res.statusText}\ncontent-type: ${type}\n\n${text}${res.truncated ? `\n[truncated at ${maxBytes} bytes]` : ''}`;
    },
  };
}
