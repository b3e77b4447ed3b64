import type { GuardDecision, GuardInputResponse, GuardSource } from '@keelson/contracts';
import { checkInputStage1, decisionOf } from './guard';
import { filterOutput } from './output-filter';
import type { EffectivePolicy } from './policy';
import type { GuardPolicyCache } from './policy-cache';
import { StreamFilter } from './stream-filter';
import { findingTypes, GuardAttributes, recordGuardCheck } from './tracing';

/** One run's guard: its tenant's and agent's policy, fetched once, applied synchronously on the hot path. */
export interface RunGuard {
  /** Stage 1 on text entering the context: the user's message, a tool result, a recalled memory. */
  checkInput(text: string, source: GuardSource): GuardInputResponse;
  /** A filter for one streamed text: push() returns what may leave now, end() the rest. */
  outputFilter(): { push(chunk: string): string; end(): string };
  /** The output filter on a whole text that leaves the system (a tool result shown in the run log). */
  redact(text: string): string;
}

/** What a run's decisions belong to, so they can be found with the run's other records. */
export interface RunGuardContext {
  sessionId?: string;
  taskId?: string;
  runId?: string;
}

export interface InlineGuardOptions {
  policies: Pick<GuardPolicyCache, 'effective'>;
  /** Each decision that is not a plain allow (a block, a flag, a redaction), with its reasons; must not throw. */
  onDecision?: (decision: GuardDecision, context: RunGuardContext) => void;
}

/**
 * The guard in process, for the runtimes: stage 1 only (stage 2 needs a model and a timeout, which the
 * hot path cannot wait for; guard-service's `/v1/guard/input` offers it), the output filter in placeholder
 * or mask mode (pseudonym tokens need guard-service's key store, so pseudonym mode falls back to typed
 * placeholders here). Decisions that found something are reported; plain allows are not, to keep the
 * audit trail to what matters.
 */
export class InlineGuard {
  constructor(private readonly options: InlineGuardOptions) {}

  async forRun(tenant: string, agentId: string, context: RunGuardContext = {}): Promise<RunGuard> {
    const policy = await this.options.policies.effective(tenant, agentId);
    const onDecision = this.options.onDecision;
    return new PolicyRunGuard(tenant, agentId, policy, onDecision && ((d) => onDecision(d, context)));
  }
}

class PolicyRunGuard implements RunGuard {
  constructor(
    private readonly tenant: string,
    private readonly agentId: string,
    private readonly policy: EffectivePolicy,
    private readonly onDecision?: (decision: GuardDecision) => void,
  ) {}

  checkInput(text: string, source: GuardSource): GuardInputResponse {
    const started = performance.now();
    const result = checkInputStage1(text, { tenant: this.tenant, policy: this.policy, source, agentId: this.agentId });
    recordGuardCheck('guard.input', started, () => ({
      [GuardAttributes.source]: source,
      [GuardAttributes.action]: result.action,
      [GuardAttributes.score]: result.score,
      [GuardAttributes.findings]: result.findings.length,
      [GuardAttributes.findingTypes]: findingTypes(result.findings),
      [GuardAttributes.policyVersion]: this.policy.version,
    }));
    if (result.action !== 'allow') {
      this.report(
        decisionOf('input', this.tenant, result.action, result.findings, { agentId: this.agentId, source, score: result.score, policyVersion: this.policy.version }),
      );
    }
    return result;
  }

  outputFilter(): { push(chunk: string): string; end(): string } {
    const filter = new StreamFilter(this.policy.output, { tenant: this.tenant });
    const started = performance.now();
    return {
      push: (chunk) => filter.push(chunk),
      end: () => {
        const rest = filter.end();
        this.reportOutput(filter.findings, filter.blocked, started);
        return rest;
      },
    };
  }

  redact(text: string): string {
    const started = performance.now();
    const r = filterOutput(text, this.policy.output, { tenant: this.tenant });
    this.reportOutput(r.findings, r.blocked, started);
    return r.blocked ? '[withheld by the guard]' : r.text;
  }

  private reportOutput(findings: StreamFilter['findings'], blocked: boolean, started: number): void {
    const action = findings.length === 0 ? 'allow' : blocked ? 'block' : findings.some((f) => f.action === 'redact') ? 'redact' : 'flag';
    recordGuardCheck('guard.output', started, () => ({
      [GuardAttributes.action]: action,
      [GuardAttributes.findings]: findings.length,
      [GuardAttributes.findingTypes]: findingTypes(findings),
      [GuardAttributes.policyVersion]: this.policy.version,
    }));
    if (action === 'allow') return;
    this.report(decisionOf('output', this.tenant, action, findings, { agentId: this.agentId, policyVersion: this.policy.version }));
  }

  private report(decision: GuardDecision): void {
    try {
      this.onDecision?.(decision);
    } catch {
      // Reporting never breaks a run.
    }
  }
}
