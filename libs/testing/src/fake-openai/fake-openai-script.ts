/** One tool call the fake streams; `arguments` as fragments (each becomes one delta) or one string. */
export interface FakeToolCall {
  id: string;
  name: string;
  arguments: string | string[];
}

/** A streamed (or, for `stream: false`, a whole) completion. */
export interface FakeCompletion {
  /** The reply text: an array is streamed one element per chunk, a string is split into words. */
  text?: string | string[];
  toolCalls?: FakeToolCall[];
  /** Default: 'tool_calls' when there are tool calls, else 'stop'. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  /** Default: words in the prompt / content chunks sent, no cached tokens. */
  usage?: { promptTokens: number; completionTokens: number; cachedTokens?: number };
  /** Destroy the socket after this many `data:` events (the role chunk counts): a connection cut midway. */
  cutAfterChunks?: number;
  /** End the response cleanly but without the finish chunk, usage and `[DONE]` (a server that gave up). */
  endWithoutDone?: boolean;
  /** Pause before every `data:` event after the first. */
  chunkDelayMs?: number;
  /** Pause before sending the response headers. */
  headersDelayMs?: number;
}

/** An error response in OpenAI's shape `{error:{message,type,param,code}}`. */
export interface FakeError {
  status: number;
  message?: string;
  type?: string;
  code?: string | null;
  /** Sent as the `Retry-After` header: seconds or an HTTP date. */
  retryAfter?: number | string;
}

export type FakeReply = FakeCompletion | FakeError;

/** What the fake received, for asserting the wire shape. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Set when the client closed the connection before the response ended (a cancel or a timeout). */
  clientClosedEarly: boolean;
}

/**
 * Per-request replies: an array is consumed in order (request n gets element n; past the end, the last
 * element repeats), a function decides from the request.
 */
export type FakeOpenAIScript = FakeReply[] | ((request: RecordedRequest, index: number) => FakeReply);

export const isFakeError = (reply: FakeReply): reply is FakeError => 'status' in reply;
