import type { AgentDefinition } from './agent-definition';

/** Agents every deployment has, so the platform answers before anyone writes an agent of their own. */
export function builtinAgents(): AgentDefinition[] {
  return [
    {
      id: 'assistant',
      version: '1',
      description: 'A general helpful assistant. Runs on the offline development model until a real provider is configured.',
      model: { provider: 'offline', name: 'offline-echo' },
      systemPrompt: 'You are a helpful assistant. Answer clearly and briefly, and say so when you do not know.',
      tools: [],
      limits: { maxOutputTokens: 1024, maxSteps: 1, timeoutMs: 60_000 },
      memory: { recall: 'none' },
      concurrency: 'enqueue',
    },
  ];
}
