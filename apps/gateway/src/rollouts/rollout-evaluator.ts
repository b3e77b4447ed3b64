import { AuditTypes } from '@keelson/contracts';
import type { AuditSink } from '@keelson/audit';
import type { MessagingLogger } from '@keelson/messaging';
import { metricsRegistry } from '@keelson/observability';
import type { RolloutControl, RolloutStore } from '@keelson/state';

export interface RolloutEvaluatorOptions {
  intervalMs: number;
  /** The tenant whose audit trail holds platform events (the first operator tenant). */
  auditTenant: string;
}

/**
 * Judges every running rollout against its thresholds every `intervalMs`, on every gateway replica. A
 * rollback is a compare-and-set over the revision judged (RolloutStore.evaluate), so however many replicas
 * judge at once, one rolls back and only that one logs it and records `admin.rollout_rolled_back`.
 */
export class RolloutEvaluator {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly store: RolloutStore,
    private readonly control: RolloutControl,
    private readonly audit: AuditSink | undefined,
    private readonly logger: MessagingLogger,
    private readonly options: RolloutEvaluatorOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round over the running rollouts; returns the agents rolled back by this replica. */
  async tick(): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    const rolledBack: string[] = [];
    try {
      for (const [agentId, rollout] of this.control.snapshot().rollouts) {
        if (rollout.state !== 'running') continue;
        try {
          const done = await this.store.evaluate(agentId);
          if (!done) continue;
          rolledBack.push(agentId);
          this.control.applyLocally({ rollout: done.rollout });
          await this.report(done.rollout.agentId, done.rollout.stable, done.rollout.canary, done.rollout.generation, done.verdict);
        } catch (err) {
          this.logger.error('a rollout could not be evaluated', { agent: agentId, error: (err as Error).message });
        }
      }
    } finally {
      this.running = false;
    }
    return rolledBack;
  }

  private async report(agentId: string, stable: string, canary: string, generation: string, verdict: { reasons: string[]; canary: object; stable: object }): Promise<void> {
    metricsRegistry().counter('rolloutRollbacks').inc({ agent: agentId, trigger: 'automatic' });
    const data = { agentId, stable, canary, generation, trigger: 'automatic', reasons: verdict.reasons, canaryOutcomes: verdict.canary, stableOutcomes: verdict.stable };
    this.logger.warn('rollout rolled back', data);
    try {
      await this.audit?.record({
        id: `rollout:${agentId}:${generation}:rolled_back`,
        tenant: this.options.auditTenant,
        type: AuditTypes.adminRolloutRolledBack,
        agentId,
        actor: { kind: 'system', id: 'rollout-evaluator' },
        data,
      });
    } catch (err) {
      // The rollback stands (it is in Redis); the event is logged whole above, to be replayed.
      this.logger.error('admin.rollout_rolled_back not recorded', { agent: agentId, error: (err as Error).message });
    }
  }
}
