import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatMessage, FinishReason } from '@keelson/contracts';
import type { ModelChunk, ModelProvider, ModelRequest } from './provider';
import { countTokens, splitTokens } from './tokens';

export interface OfflineModelOptions {
  /** Pause before each streamed token, to make streaming observable in tests and demos; default 0. */
  tokenDelayMs?: number;
}

/** The latest user message, exactly this, makes the model throw: tests drive the failure path end to end. */
export const FAIL_TRIGGER = '__fail__';
/**
 * The latest user message `__slow:<ms>__` (alone, or followed by a space and words that tell messages apart)
 * makes the model wait that long first: lease and redelivery tests.
 */
export const SLOW_TRIGGER = /^__slow:(\d+)__(?: |$)/;

const QUOTE_LIMIT = 200;

/**
 * A deterministic development and test model: no network, no weights, no intelligence. Its reply is built
 * from the conversation so that history is visible: it says which turn this is, echoes the latest user
 * message and, from turn 2, quotes the user's FIRST message. A second turn that quotes the first one
 * proves the session kept its history through whatever store and replica served it.
 */
export class OfflineModel implements ModelProvider {
  readonly name = 'offline';

  constructor(private readonly options: OfflineModelOptions = {}) {}

  async *stream(req: ModelRequest, signal?: AbortSignal): AsyncIterable<ModelChunk> {
    const userMessages = req.messages.filter((m) => m.role === 'user').map((m) => m.content);
    const latest = userMessages.at(-1);
    if (latest === FAIL_TRIGGER) throw new Error(`offline model failed on purpose: the user sent "${FAIL_TRIGGER}"`);

    const slowMs = latest === undefined ? undefined : SLOW_TRIGGER.exec(latest)?.[1];
    let finish: FinishReason = 'stop';
    if (slowMs !== undefined && !(await pause(Number(slowMs), signal))) finish = 'cancelled';

    const tokens = finish === 'stop' ? splitTokens(reply(userMessages)) : [];
    let output = 0;
    for (const token of tokens) {
      if (signal?.aborted) {
        finish = 'cancelled';
        break;
      }
      if (req.maxOutputTokens !== undefined && output >= req.maxOutputTokens) {
        finish = 'length';
        break;
      }
      if (this.options.tokenDelayMs && !(await pause(this.options.tokenDelayMs, signal))) {
        finish = 'cancelled';
        break;
      }
      output += 1;
      yield { type: 'text', text: token };
    }
    const input = inputTokens(req.messages);
    yield { type: 'usage', usage: { inputTokens: input, outputTokens: output, totalTokens: input + output } };
    yield { type: 'finish', reason: finish };
  }
}

function reply(userMessages: string[]): string {
  const turn = userMessages.length;
  if (turn === 0) return 'There is no user message to answer yet. (Offline model: I echo, I do not think.)';
  const parts = [`This is turn ${turn} of our conversation. You said: "${quote(userMessages[turn - 1]!)}".`];
  if (turn > 1) parts.push(`Earlier you said: "${quote(userMessages[0]!)}".`);
  parts.push('(Offline model: I echo, I do not think.)');
  return parts.join(' ');
}

function quote(text: string): string {
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}...` : text;
}

/** Every message counts, the system prompt included: it is sent to the model on every turn. */
function inputTokens(messages: ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + countTokens(m.content), 0);
}

/** Waits `ms`; false when `signal` aborted first. */
async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (err) {
    if (signal?.aborted) return false;
    throw err;
  }
}
