import { z } from 'zod';
import { integer } from './fields';

const httpUrl = z.string().url('expected an http(s) URL').refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL');

/**
 * The model providers a service that runs agents can reach, besides the offline model. Keys come from
 * mounted files (`*_API_KEY_FILE`), never from the environment itself.
 */
export const modelProviderSettings = {
  /** An OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, LiteLLM...). */
  OPENAI_BASE_URL: httpUrl.optional(),
  OPENAI_API_KEY_FILE: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  ANTHROPIC_API_KEY_FILE: z.string().min(1).optional(),
  /** How long a session stays pinned to the model that last answered it (routed agents); match SESSION_TTL_SECONDS. */
  ROUTE_PIN_TTL_SECONDS: integer(3_600, 1),
  /** How long the exact response cache keeps an answer of a temperature-0 agent; 0 turns the cache off. */
  RESPONSE_CACHE_TTL_SECONDS: integer(3_600, 0),
};

export interface ModelProviderSettings {
  OPENAI_BASE_URL?: string | undefined;
  OPENAI_API_KEY_FILE?: string | undefined;
  ANTHROPIC_BASE_URL?: string | undefined;
  ANTHROPIC_API_KEY_FILE?: string | undefined;
  ROUTE_PIN_TTL_SECONDS?: number | undefined;
  RESPONSE_CACHE_TTL_SECONDS?: number | undefined;
}
