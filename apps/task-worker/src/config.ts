import { baseServiceConfig, memoryRecallSettings, modelProviderSettings, integer, integerList, loadConfig, port } from '@keelson/config';
import { rateLimitConfig } from '@keelson/cost';
import { Consumers } from '@keelson/contracts';
import { z } from 'zod';

export const taskWorkerConfigSchema = baseServiceConfig.extend({
  ...modelProviderSettings,
  /** The gateway's rate limits: each model call's tokens are charged to the tokens-per-minute ones. */
  ...rateLimitConfig,
  ...memoryRecallSettings,
  ...port('HEALTH_PORT', 8082),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** How long a task's record outlives its last change; the gateway reads the same setting. */
  TASK_TTL_SECONDS: integer(86_400, 60),
  /** Deliveries before a task is given up on: its failed result is published and it is dead-lettered. */
  TASK_MAX_DELIVER: integer(Consumers.taskWorker.maxDeliver, 1, 100),
  /** Delays before the 2nd, 3rd... delivery after a failure, in ms; the last one repeats. */
  TASK_RETRY_BACKOFF_MS: integerList([...Consumers.taskWorker.retryBackoffMs]),
  /**
   * How long a delivered task may go without a heartbeat before JetStream offers it to another replica: the
   * time to notice a dead worker. Running tasks send heartbeats, so this does not bound a task's run time.
   */
  TASK_ACK_WAIT_MS: integer(Consumers.taskWorker.ackWaitMs, 1_000, 3_600_000),
  /**
   * How often this replica looks for approvals nobody decided within their timeout (the agent's
   * approval.timeoutSeconds), to resume their runs with the call rejected. One Redis call per sweep.
   */
  APPROVAL_SWEEP_INTERVAL_MS: integer(1_000, 50, 600_000),
  /** Tasks run at once by this replica. */
  WORKER_CONCURRENCY: integer(32, 1, 1_024),
  /** A directory of agent files (docs/agents.md), watched and reloaded; unset serves the built-in agents. */
  AGENTS_DIR: z.string().min(1, 'set it to a directory of agent files, or leave it unset').optional(),
});
export type TaskWorkerConfig = z.infer<typeof taskWorkerConfigSchema>;

export const loadTaskWorkerConfig = (env: NodeJS.ProcessEnv = process.env): TaskWorkerConfig => loadConfig(taskWorkerConfigSchema, env);
