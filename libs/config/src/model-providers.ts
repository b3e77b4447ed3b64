import { z } from 'zod';
import { integer } from './fields';
import { secretRefSetting, secretsLayerSettings } from './secret-file';

const httpUrl = z.string().url('expected an http(s) URL').refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL');

/**
 * The model providers a service that runs agents can reach, besides the offline model. Keys come from the
 * secrets layer (docs/secrets.md): a mounted file (`*_API_KEY_FILE`) or a reference (`*_API_KEY_REF`, e.g.
 * `vault:kv/data/keelson/openai#api_key`), never from the environment itself; fetched at start, re-read
 * when they rotate.
 */
export const modelProviderSettings = {
  /** An OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, LiteLLM...). */
  OPENAI_BASE_URL: httpUrl.optional(),
  OPENAI_API_KEY_FILE: z.string().min(1).optional(),
  OPENAI_API_KEY_REF: secretRefSetting(),
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  ANTHROPIC_API_KEY_FILE: z.string().min(1).optional(),
  ANTHROPIC_API_KEY_REF: secretRefSetting(),
  ...secretsLayerSettings,
  /** How long a session stays pinned to the model that last answered it (routed agents); match SESSION_TTL_SECONDS. */
  ROUTE_PIN_TTL_SECONDS: integer(3_600, 1),
  /** How long the exact response cache keeps an answer of a temperature-0 agent; 0 turns the cache off. */
  RESPONSE_CACHE_TTL_SECONDS: integer(3_600, 0),
};

export interface ModelProviderSettings {
  OPENAI_BASE_URL?: string | undefined;
  OPENAI_API_KEY_FILE?: string | undefined;
  OPENAI_API_KEY_REF?: string | undefined;
  ANTHROPIC_BASE_URL?: string | undefined;
  ANTHROPIC_API_KEY_FILE?: string | undefined;
  ANTHROPIC_API_KEY_REF?: string | undefined;
  VAULT_ADDR?: string | undefined;
  VAULT_TOKEN_FILE?: string | undefined;
  VAULT_KUBERNETES_ROLE?: string | undefined;
  VAULT_NAMESPACE?: string | undefined;
  ROUTE_PIN_TTL_SECONDS?: number | undefined;
  RESPONSE_CACHE_TTL_SECONDS?: number | undefined;
}
