import { Consumers, type ConsumerSpec } from '@keelson/contracts';
import type { TaskWorkerConfig } from '../config';

/**
 * The task consumer as declared in the contracts, with the retry policy this deployment configured.
 * Provisioning updates the durable consumer in place, so every replica must run with the same settings.
 */
export function taskConsumerSpec(
  config: Pick<TaskWorkerConfig, 'TASK_MAX_DELIVER' | 'TASK_RETRY_BACKOFF_MS' | 'TASK_ACK_WAIT_MS'>,
): ConsumerSpec {
  return {
    ...Consumers.taskWorker,
    maxDeliver: config.TASK_MAX_DELIVER,
    retryBackoffMs: config.TASK_RETRY_BACKOFF_MS,
    ackWaitMs: config.TASK_ACK_WAIT_MS,
  };
}
