import type { ModelProviderSettings } from '@keelson/config';
import type { MessagingLogger } from '@keelson/messaging';
import { AnthropicProvider, OfflineModel, OpenAICompatibleProvider, ProviderRegistry } from '@keelson/runtime';
import { SettingsSecrets } from '@keelson/secrets';

/** The secrets the model providers take, each given as `<NAME>_FILE` or `<NAME>_REF` (docs/secrets.md). */
export const MODEL_PROVIDER_SECRETS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'] as const;

/** Where the providers' keys come from: the current value of a configured secret, read on every call. */
export interface ProviderKeys {
  reader(name: string): (() => string) | undefined;
}

/**
 * Fetches the provider keys the settings point at (mounted files or Vault): a missing or unreadable one
 * throws, naming its setting and source, so the service does not start. Stop the result on shutdown.
 */
export function startModelProviderSecrets(settings: ModelProviderSettings, logger: MessagingLogger): Promise<SettingsSecrets> {
  return SettingsSecrets.start(settings, MODEL_PROVIDER_SECRETS, {
    onWarning: (message) => logger.warn(message),
    onError: (message) => logger.error(`a model provider key could not be re-read; the previous one stays in use: ${message}`),
  });
}

/**
 * The offline model always, plus each real provider whose endpoint or key is configured. Agents name a
 * provider in `model.provider`; an agent naming one that is not configured fails its runs with
 * provider_not_found, saying which. The providers call their key function before every request, so a
 * rotated key (a rewritten file, a Kubernetes `..data` swap, a new Vault version) is used by the next call.
 */
export function providersFrom(settings: ModelProviderSettings, keys: ProviderKeys): ProviderRegistry {
  const registry = new ProviderRegistry([new OfflineModel()]);
  const openaiKey = keys.reader('OPENAI_API_KEY');
  if (settings.OPENAI_BASE_URL || openaiKey) {
    registry.register(
      new OpenAICompatibleProvider({
        baseUrl: settings.OPENAI_BASE_URL ?? 'https://api.openai.com/v1',
        ...(openaiKey ? { apiKey: openaiKey } : {}),
      }),
    );
  }
  const anthropicKey = keys.reader('ANTHROPIC_API_KEY');
  if (anthropicKey) {
    registry.register(
      new AnthropicProvider({
        apiKey: anthropicKey,
        ...(settings.ANTHROPIC_BASE_URL ? { baseUrl: settings.ANTHROPIC_BASE_URL } : {}),
      }),
    );
  }
  return registry;
}
