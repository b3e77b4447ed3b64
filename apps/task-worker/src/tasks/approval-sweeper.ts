import { Subjects, type ApprovalCommand } from '@keelson/contracts';
import type { MessagingLogger } from '@keelson/messaging';
import type { EventPublisher } from '@keelson/runtime';
import type { ApprovalStore, ExpiredApproval } from '@keelson/state';

/** A claimed approval whose command could not be published is offered again after this long. */
export const SWEEP_RETRY_MS = 5_000;

export interface ApprovalSweeperDeps {
  approvals: Pick<ApprovalStore, 'claimExpired' | 'decide' | 'indexExpiry'>;
  publisher: EventPublisher;
  logger: MessagingLogger;
  intervalMs: number;
}

/**
 * Ends the waits nobody ends: every `intervalMs`, takes the approvals past their timeout off the expiry index
 * (each goes to one replica), rejects each in Redis (reason `expired`) and publishes the rejection on
 * KEELSON_APPROVALS under the same message id a human decision would use, so the paused run resumes on
 * whichever task-worker takes it, and the model is told the call was not approved. A decision that came
 * first wins and is left alone.
 */
export class ApprovalSweeper {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<number>;

  constructor(private readonly deps: ApprovalSweeperDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweepOnce()
        .catch((err: unknown) => {
          this.deps.logger.warn('approval sweep failed', { error: (err as Error).message });
          return 0;
        })
        .finally(() => (this.sweeping = undefined));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass; returns how many expired approvals it sent on to their runs. */
  async sweepOnce(): Promise<number> {
    let resumed = 0;
    for (const expired of await this.deps.approvals.claimExpired()) {
      if (await this.expire(expired)) resumed++;
    }
    return resumed;
  }

  private async expire({ tenant, approvalId }: ExpiredApproval): Promise<boolean> {
    const result = await this.deps.approvals.decide(tenant, approvalId, false, 'expired');
    if (result.kind === 'missing' || result.kind === 'decided') return false;
    const command: ApprovalCommand = { decision: 'reject', reason: 'expired' };
    try {
      await this.deps.publisher.publish(Subjects.approval(tenant, approvalId), command, { msgId: `approval:${tenant}:${approvalId}` });
    } catch (err) {
      await this.deps.approvals.indexExpiry({ tenant, approvalId }, Date.now() + SWEEP_RETRY_MS);
      this.deps.logger.warn('could not resume an expired approval; will retry', { approvalId, error: (err as Error).message });
      return false;
    }
    this.deps.logger.info('approval expired; its run resumes with the call rejected', { approvalId });
    return true;
  }
}
