export * from './fake-openai-script';
export { startFakeOpenAI, type FakeOpenAIHandle, type FakeOpenAIOptions } from './fake-openai-server';
