import type { ChatMessage } from '@keelson/contracts';
import type { Tiktoken } from 'js-tiktoken/lite' with { 'resolution-mode': 'require' };
import { messageText, type CostRequest } from '../request';

export type EncodingName = 'o200k_base' | 'cl100k_base';

/**
 * Which BPE a model uses. o200k_base for the gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and o-series families;
 * cl100k_base for older OpenAI models and, as a documented approximation, for Anthropic and every other model
 * (Anthropic publishes no tokenizer; cl100k_base counts English text within about 10-20 % of Claude's count).
 */
export function encodingFor(model: string): EncodingName {
  return /^(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o\d)/.test(model) ? 'o200k_base' : 'cl100k_base';
}

const encoders = new Map<EncodingName, Tiktoken>();

/**
 * The encoder of one encoding, built on first use and kept: the rank tables are 1-2 MB each, so a process that
 * never estimates never loads them, and one that does loads each once.
 */
function encoder(name: EncodingName): Tiktoken {
  let enc = encoders.get(name);
  if (!enc) {
    // Loaded lazily on purpose: a static import would parse both rank tables at start-up.
    const { Tiktoken: TiktokenClass } = require('js-tiktoken/lite') as typeof import('js-tiktoken/lite', { with: { 'resolution-mode': 'require' } });
    // The CommonJS builds of the rank tables export the table itself (module.exports), not a default.
    const ranks = name === 'o200k_base' ? require('js-tiktoken/ranks/o200k_base') : require('js-tiktoken/ranks/cl100k_base');
    enc = new TiktokenClass(ranks);
    encoders.set(name, enc);
  }
  return enc;
}

/** Tokens of plain text; special-token strings in user text count as text, never as control tokens. */
export function countTextTokens(model: string, text: string): number {
  return text ? encoder(encodingFor(model)).encode(text, [], []).length : 0;
}

/** OpenAI's chat framing: about 3 tokens around each message and 3 that prime the reply. */
const PER_MESSAGE_TOKENS = 3;
const REPLY_PRIMING_TOKENS = 3;

/**
 * Estimates tokens of a text or of a conversation (content plus chat framing), for calls whose provider
 * reported no usage. An estimate, marked as such on the record; never used when the provider reported usage.
 */
export function estimateTokens(model: string, input: string | readonly ChatMessage[]): number {
  if (typeof input === 'string') return countTextTokens(model, input);
  let total = REPLY_PRIMING_TOKENS;
  for (const message of input) total += PER_MESSAGE_TOKENS + countTextTokens(model, `${message.role}\n${messageText(message)}`);
  return total;
}

export interface EstimatedUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: 0;
  estimated: true;
}

/**
 * Input and output tokens of a call the provider never reported usage for (cancelled, cut, failed): the
 * request's messages and tool definitions as input, the text streamed so far as output.
 */
export function estimateUsage(request: Pick<CostRequest, 'model' | 'messages' | 'tools'>, outputText: string): EstimatedUsage {
  const tools = request.tools?.length ? countTextTokens(request.model, JSON.stringify(request.tools)) : 0;
  return {
    inputTokens: estimateTokens(request.model, request.messages) + tools,
    outputTokens: countTextTokens(request.model, outputText),
    cachedInputTokens: 0,
    estimated: true,
  };
}

/** Loads an encoding ahead of time (about 0.5-1 s each), so the first cancelled stream does not pay for it. */
export function warmUpTokenizer(model: string): void {
  encoder(encodingFor(model));
}
