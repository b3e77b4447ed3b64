import { integer } from './fields';

/** How agent runtimes recall long-term memories before a turn (docs/memory.md); spread into a service's schema. */
export const memoryRecallSettings = {
  /** How long a turn waits for its memories before it goes on without them (and logs that it did). */
  MEMORY_RECALL_TIMEOUT_MS: integer(250, 10, 10_000),
  /** At most this many tokens of memories go into a turn's context. */
  MEMORY_RECALL_TOKEN_BUDGET: integer(1_000, 50, 32_000),
};
