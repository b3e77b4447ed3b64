import type { EntityFinding, GuardDecision, GuardInputResponse, GuardOutputResponse, GuardSource, InjectionFinding } from '@keelson/contracts';
import { scoreInjection } from './injection/score';
import { filterOutput, type FilteredOutput } from './output-filter';
import { inputAction, type EffectivePolicy } from './policy';
import type { Pseudonymizer } from './pseudonyms';
import type { ModelClassifier } from './stage2';
import { StreamFilter, type StreamFilterOptions } from './stream-filter';

export interface InputCheckOptions {
  tenant: string;
  policy: EffectivePolicy;
  source?: GuardSource;
  agentId?: string;
}

/**
 * Stage 1 alone, synchronous: the in-process check for hot paths (session-agent, task-worker) that cannot
 * await a model. Uncertain scores are allowed and flagged (`decidedBy: 'stage1'`).
 */
export function checkInputStage1(text: string, opts: InputCheckOptions): GuardInputResponse {
  const source = opts.source ?? 'user';
  const p = opts.policy.input;
  if (!p.enabled || !p.sources.includes(source)) {
    return { allowed: true, score: 0, action: 'allow', findings: [], decidedBy: 'off', policyVersion: opts.policy.version };
  }
  const { score, findings } = scoreInjection(text, { source, allowPhrases: p.allowPhrases });
  return decide(score, findings, opts.policy, 'stage1');
}

function decide(score: number, findings: InjectionFinding[], policy: EffectivePolicy, decidedBy: string): GuardInputResponse {
  const p = policy.input;
  let action: GuardInputResponse['action'] = 'allow';
  if (score >= p.blockThreshold) {
    // The strongest finding's category decides; `off` categories do not count.
    const strongest = findings.find((f) => f.weight > 0 && inputAction(p, f.type) !== 'off');
    action = strongest ? (inputAction(p, strongest.type) === 'flag' ? 'flag' : 'block') : 'allow';
  } else if (score >= p.uncertainThreshold) action = 'flag';
  return { allowed: action !== 'block', score, action, findings, decidedBy, policyVersion: policy.version };
}

/** Builds the decision event of a call: reasons and counts, never the text or a matched value. */
export function decisionOf(
  type: GuardDecision['type'],
  tenant: string,
  action: GuardDecision['action'],
  findings: readonly (InjectionFinding | EntityFinding)[],
  extra: { agentId?: string; source?: GuardSource; score?: number; reasons?: string[]; policyVersion: number },
): GuardDecision {
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.type] = (counts[f.type] ?? 0) + 1;
  const reasons = extra.reasons ?? findings.map((f) => ('rule' in f ? f.rule : f.type));
  return {
    type,
    tenant,
    ...(extra.agentId ? { agentId: extra.agentId } : {}),
    ...(extra.source ? { source: extra.source } : {}),
    action,
    ...(extra.score !== undefined ? { score: extra.score } : {}),
    reasons: [...new Set(reasons)],
    counts,
    policyVersion: extra.policyVersion,
    at: new Date().toISOString(),
  };
}

export interface GuardOptions {
  /** Stage 2; without it uncertain inputs are decided by stage 1. */
  classifier?: ModelClassifier;
  /** Pseudonym mode needs it; without it that mode falls back to placeholders. */
  pseudonymizer?: Pseudonymizer;
  /** Called with every decision (publish it, count it). Must not throw. */
  onDecision?: (d: GuardDecision) => void;
}

/**
 * The guard as one object: input checks (stage 1, then stage 2 for uncertain scores), the output filter
 * (with pseudonyms stored before the text is returned) and streaming filters, each call reported as a
 * GuardDecision. Framework-free: guard-service wraps it in RPCs; other services can hold one in-process.
 */
export class Guard {
  constructor(private readonly opts: GuardOptions = {}) {}

  async checkInput(text: string, opts: InputCheckOptions): Promise<GuardInputResponse> {
    let result = checkInputStage1(text, opts);
    const p = opts.policy.input;
    const uncertain = result.decidedBy === 'stage1' && result.score >= p.uncertainThreshold && result.score < p.blockThreshold;
    if (uncertain && p.stage2.enabled && this.opts.classifier) {
      result = await this.stage2(text, result, opts);
    }
    this.emit(
      decisionOf('input', opts.tenant, result.action, result.findings, {
        agentId: opts.agentId,
        source: opts.source ?? 'user',
        score: result.score,
        reasons: [...result.findings.map((f) => f.rule), ...(result.decidedBy.startsWith('stage2') ? [result.decidedBy] : [])],
        policyVersion: result.policyVersion,
      }),
    );
    return result;
  }

  /**
   * Stage 2 with its fallback: on timeout or error the stage-1 result stands (an uncertain score is
   * allowed and flagged), with `decidedBy` `stage2:timeout` or `stage2:error`.
   */
  private async stage2(text: string, stage1: GuardInputResponse, opts: InputCheckOptions): Promise<GuardInputResponse> {
    const classifier = this.opts.classifier!;
    const timeoutMs = opts.policy.input.stage2.timeoutMs;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve('timeout');
      }, timeoutMs);
    });
    try {
      const verdict = await Promise.race([classifier.classify(text, { source: opts.source ?? 'user', signal: controller.signal }), timedOut]);
      if (verdict === 'timeout') return { ...stage1, decidedBy: 'stage2:timeout' };
      const finding: InjectionFinding = { type: stage1.findings[0]?.type ?? 'instruction_override', rule: 'stage2', weight: Math.round(verdict.probability * 1000) / 1000 };
      const findings = [...stage1.findings, finding];
      if (verdict.injection) return { allowed: false, score: Math.max(stage1.score, verdict.probability), action: 'block', findings, decidedBy: 'stage2', policyVersion: stage1.policyVersion };
      return { allowed: true, score: Math.min(stage1.score, verdict.probability), action: 'allow', findings, decidedBy: 'stage2', policyVersion: stage1.policyVersion };
    } catch {
      return { ...stage1, decidedBy: controller.signal.aborted ? 'stage2:timeout' : 'stage2:error' };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The output filter; pseudonyms are stored in the vault before this resolves. */
  async filterOutput(text: string, opts: { tenant: string; policy: EffectivePolicy; agentId?: string }): Promise<GuardOutputResponse> {
    const r: FilteredOutput = filterOutput(text, opts.policy.output, { tenant: opts.tenant, pseudonymizer: this.opts.pseudonymizer });
    if (r.pending.length) await this.opts.pseudonymizer!.store(opts.tenant, r.pending);
    this.emit(
      decisionOf('output', opts.tenant, r.blocked ? 'block' : r.findings.some((f) => f.action === 'redact') ? 'redact' : r.findings.length ? 'flag' : 'allow', r.findings, {
        agentId: opts.agentId,
        policyVersion: opts.policy.version,
      }),
    );
    return { text: r.text, findings: r.findings, blocked: r.blocked, policyVersion: opts.policy.version };
  }

  /**
   * A streaming filter under the policy. With pseudonyms, call `storePending(filter)` before releasing what
   * push()/end() returned (or after each push, before forwarding it).
   */
  streamFilter(opts: { tenant: string; policy: EffectivePolicy }, streamOpts?: StreamFilterOptions): StreamFilter {
    return new StreamFilter(opts.policy.output, { tenant: opts.tenant, pseudonymizer: this.opts.pseudonymizer }, streamOpts);
  }

  async storePending(tenant: string, filter: StreamFilter): Promise<void> {
    if (!filter.pending.length || !this.opts.pseudonymizer) return;
    const pending = filter.pending.splice(0);
    await this.opts.pseudonymizer.store(tenant, pending);
  }

  private emit(d: GuardDecision): void {
    try {
      this.opts.onDecision?.(d);
    } catch {
      // A listener's failure never changes a decision.
    }
  }
}
