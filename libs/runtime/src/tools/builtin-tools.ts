import { httpFetchTool, type HttpFetchOptions } from './http-fetch';
import { memoryRecallTool, type MemoryRecall } from './memory-recall';
import { ToolRegistry } from './tool-registry';

/**
 * The built-in tools: `http_fetch` and `memory_recall` (which reports memory as unavailable until a
 * MemoryRecall, i.e. memory-service, is given). An agent still calls only the tools it lists.
 */
export function builtinTools(options: { memory?: MemoryRecall; http?: HttpFetchOptions } = {}): ToolRegistry {
  return new ToolRegistry([httpFetchTool(options.http), memoryRecallTool(options.memory)]);
}
