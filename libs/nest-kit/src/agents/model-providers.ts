import { secretFromFile, type ModelProviderSettings } from '@keelson/config';
import { AnthropicProvider, OfflineModel, OpenAICompatibleProvider, ProviderRegistry } from '@keelson/runtime';

/**
 * The offline model always, plus each real provider whose endpoint or key is configured. Agents name a
 * provider in `model.provider`; an agent naming one that is not configured fails its runs with
 * provider_not_found, saying which.
 */
export function providersFrom(settings: ModelProviderSettings): ProviderRegistry {
  const registry = new ProviderRegistry([new OfflineModel()]);
  if (settings.OPENAI_BASE_URL || settings.OPENAI_API_KEY_FILE) {
    registry.register(
      new OpenAICompatibleProvider({
        baseUrl: settings.OPENAI_BASE_URL ?? 'https://api.openai.com/v1',
        ...(settings.OPENAI_API_KEY_FILE ? { apiKey: secretFromFile(settings.OPENAI_API_KEY_FILE) } : {}),
      }),
    );
  }
  if (settings.ANTHROPIC_API_KEY_FILE) {
    registry.register(
      new AnthropicProvider({
        apiKey: secretFromFile(settings.ANTHROPIC_API_KEY_FILE),
        ...(settings.ANTHROPIC_BASE_URL ? { baseUrl: settings.ANTHROPIC_BASE_URL } : {}),
      }),
    );
  }
  return registry;
}
