import { z } from 'zod';

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
};

export interface ModelProviderSettings {
  OPENAI_BASE_URL?: string | undefined;
  OPENAI_API_KEY_FILE?: string | undefined;
  ANTHROPIC_BASE_URL?: string | undefined;
  ANTHROPIC_API_KEY_FILE?: string | undefined;
}
