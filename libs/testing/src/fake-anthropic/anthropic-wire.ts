/**
 * The Anthropic Messages API streaming wire format, written from Anthropic's public API reference
 * ("Streaming Messages" and "Errors"): SSE events `message_start`, `content_block_start`, `ping`,
 * `content_block_delta` (text_delta, input_json_delta), `content_block_stop`, `message_delta`, `message_stop`
 * and `error`, and the JSON error body `{type:'error', error:{type, message}}` with its HTTP statuses.
 */

/** One server-sent event: `event: <name>` and `data: <json>`; `data.type` repeats the event name. */
export interface AnthropicSseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** A content block to stream: text in chunks, or a tool call whose JSON input arrives in fragments. */
export type FakeContentBlock =
  | { text: string[] }
  | { toolUse: { id: string; name: string; partialJson: string[] } };

export interface FakeMessage {
  model?: string;
  blocks: FakeContentBlock[];
  /** Default `end_turn`, or `tool_use` when a block is a tool call. */
  stopReason?: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
}

/** The error types of the public reference, by the HTTP status that carries them. */
export const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const sse = (event: string, data: Record<string, unknown> = {}): AnthropicSseEvent => ({ event, data: { type: event, ...data } });

/** The whole event sequence of one streamed message, as the API sends it (a `ping` after the first block start). */
export function messageEvents(msg: FakeMessage, id = 'msg_fake_01'): AnthropicSseEvent[] {
  const hasToolUse = msg.blocks.some((b) => 'toolUse' in b);
  const events: AnthropicSseEvent[] = [
    sse('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: msg.model ?? 'claude-fake',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: msg.inputTokens ?? 10,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: msg.cacheReadInputTokens ?? 0,
          output_tokens: 1,
        },
      },
    }),
  ];
  msg.blocks.forEach((block, index) => {
    if ('text' in block) {
      events.push(sse('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      if (index === 0) events.push(sse('ping'));
      for (const text of block.text) events.push(sse('content_block_delta', { index, delta: { type: 'text_delta', text } }));
    } else {
      const { id: toolId, name, partialJson } = block.toolUse;
      events.push(sse('content_block_start', { index, content_block: { type: 'tool_use', id: toolId, name, input: {} } }));
      if (index === 0) events.push(sse('ping'));
      for (const partial_json of partialJson) {
        events.push(sse('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } }));
      }
    }
    events.push(sse('content_block_stop', { index }));
  });
  events.push(
    sse('message_delta', {
      delta: { stop_reason: msg.stopReason ?? (hasToolUse ? 'tool_use' : 'end_turn'), stop_sequence: null },
      usage: { output_tokens: msg.outputTokens ?? 5 },
    }),
    sse('message_stop'),
  );
  return events;
}

/** An `error` event, as the API sends mid-stream (e.g. `overloaded_error`). */
export function errorEvent(type: string, message: string): AnthropicSseEvent {
  return sse('error', { error: { type, message } });
}

/** An HTTP error body as the API returns it. */
export function errorBody(type: string, message: string): Record<string, unknown> {
  return { type: 'error', error: { type, message }, request_id: 'req_fake_01' };
}

export function encodeSse(e: AnthropicSseEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
