export { requestBody as openAIRequestBody, type UsageWithCache } from './chat-completions-wire';
export * from './openai-compatible-provider';
export { ProviderError, type ProviderErrorCode } from './provider-error';
