export * from './anthropic-error';
export * from './anthropic-provider';
export { toMessagesBody, type AnthropicMessagesBody } from './anthropic-request';
