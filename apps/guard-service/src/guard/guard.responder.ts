import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { GUARD_DECISION_EVENT_TYPE, GuardQueueGroup, GuardSubjects, createEvent, type GuardDecision } from '@keelson/contracts';
import { guardDecisionDraft, type AuditSink } from '@keelson/audit';
import { Guard } from '@keelson/guard';
import { encodeJson, serveRequests, type MessagingLogger } from '@keelson/messaging';
import { AUDIT_TRAIL, NATS_CONNECTION, NATS_RESPONDER_CONNECTION, SERVICE_LOGGER, countGuardDecision } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';
import { guardHandlers } from './answer-guard';
import { GUARD_OPTIONS, type GuardModuleOptions } from './guard.options';
import { PolicyStore } from './policy-store';

/**
 * Serves keelson.rpc.guard.{input,output,policy} as one member of the queue group keelson-guard, and
 * publishes every decision as a CloudEvent on keelson.guard.decisions.{tenant} (core NATS, for audit and
 * metrics subscribers; never the checked text or a matched value). Starts after the application has
 * initialised; stops (answering what it already received) before the NATS connection drains.
 */
@Injectable()
export class GuardResponder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private servers: { stop(): Promise<void> }[] = [];
  /** Decisions by type and action since start (logged at shutdown; a metrics exporter can read them). */
  readonly counts = new Map<string, number>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(NATS_RESPONDER_CONNECTION) private readonly responder: NatsConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
    @Inject(GUARD_OPTIONS) private readonly options: GuardModuleOptions,
    private readonly policies: PolicyStore,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditSink,
  ) {}

  onApplicationBootstrap(): void {
    const onDecision = (d: GuardDecision) => this.publish(d);
    const guard = new Guard({ classifier: this.options.classifier, pseudonymizer: this.options.pseudonymizer, onDecision });
    const h = guardHandlers({ guard, policies: this.policies, onDecision, ...(this.options.pseudonymizer ? { pseudonymizer: this.options.pseudonymizer } : {}) });
    const opts = { logger: this.logger, concurrency: this.options.concurrency };
    this.servers = [
      serveRequests(this.responder, GuardSubjects.inputRpc, GuardQueueGroup, (req: unknown) => h.input(req), opts),
      serveRequests(this.responder, GuardSubjects.outputRpc, GuardQueueGroup, (req: unknown) => h.output(req), opts),
      serveRequests(this.responder, GuardSubjects.policyRpc, GuardQueueGroup, (req: unknown) => h.policy(req), opts),
      serveRequests(this.responder, GuardSubjects.revealRpc, GuardQueueGroup, (req: unknown) => h.reveal(req), opts),
    ];
    this.logger.info('answering guard requests', {
      subjects: [GuardSubjects.inputRpc, GuardSubjects.outputRpc, GuardSubjects.policyRpc, GuardSubjects.revealRpc],
      queue: GuardQueueGroup,
      stage2: this.options.classifier?.name ?? 'off',
      pseudonyms: this.options.pseudonymizer ? 'on' : 'off (placeholders)',
    });
  }

  private publish(d: GuardDecision): void {
    const key = `${d.type}.${d.action}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    countGuardDecision(d);
    try {
      const event = createEvent({ type: GUARD_DECISION_EVENT_TYPE, source: 'keelson/guard-service', tenant: d.tenant, data: d });
      this.nats.publish(GuardSubjects.decisions(d.tenant), encodeJson(event));
    } catch (err) {
      this.logger.warn('cannot publish a guard decision', { error: (err as Error).message });
    }
    this.record(d);
  }

  /**
   * The decision as an audit event. Not awaited: the guard sits on every message's path and a PubAck per
   * check would be its slowest part; an event lost with a crash in that window is the accepted cost.
   */
  private record(d: GuardDecision): void {
    this.audit
      .record(guardDecisionDraft(d))
      .catch((err: unknown) => this.logger.error('guard decision not recorded in the audit trail', { tenant: d.tenant, type: d.type, action: d.action, error: (err as Error).message }));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
    this.logger.info('guard decisions since start', Object.fromEntries(this.counts));
  }
}
