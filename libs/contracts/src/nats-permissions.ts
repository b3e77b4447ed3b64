import { AuditConsumers, AuditStream, AuditSubjects } from './audit';
import { GuardSubjects } from './guard';
import { MemoryConsumers, MemoryStreams, MemorySubjects } from './memory';
import { OpsSubjects } from './ops';
import { Consumers, Streams, type ConsumerSpec, type StreamSpec } from './streams';
import { Subjects } from './subjects';
import { UsageStream, UsageSubjects } from './usage';

/**
 * Least-privilege NATS permissions (issue 9): one identity per service, one per external tenant publisher,
 * and an operator identity for tools and tests. Derived from the subjects, streams and consumers declared in
 * this library, so a renamed subject moves its permission with it. `tools/nats-auth` (and the tests) turn
 * these sets into a nats-server `authorization` block; see docs/operations.md "NATS credentials and
 * permissions".
 *
 * Three mechanisms keep every set small:
 * - Private reply inboxes. A client's replies (request-reply answers, JetStream API answers and PubAcks,
 *   pulled messages, ordered-consumer deliveries) arrive on `<inboxPrefix>.<random>`; each identity may only
 *   subscribe to its own prefix, so no identity reads another's replies. Clients set nats.js `inboxPrefix`
 *   (services: NATS_INBOX_PREFIX).
 * - `allow_responses`: a service may answer a request it received (the reply subject of that message), once,
 *   without a blanket publish right on anyone's inbox. Only a service's *responder* identity has it (its own
 *   connection, `ResponderPermissions`), because nats-server remembers the reply subject of every message
 *   delivered to such a connection, JetStream deliveries included, until it is answered through that right or
 *   expires; an ack is allowed outright so it never counts, and once a connection holds 4,096 of them the
 *   server scans them all on every delivery (2.9 and 2.10 `deliverMsg`). On a consuming connection that made
 *   nats-server's CPU per message grow with every message of the last hour (docs/benchmarks.md).
 * - JetStream API subjects name the stream and consumer, so each service may provision, read and pull only
 *   the streams and durable consumers it owns, and acknowledge only its own consumers' messages.
 *
 * nats-server 2.9 limits (checked on 2.9.10, docs/operations.md): the create subject
 * `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>` carries the filter and the server checks it, but the
 * legacy `$JS.API.CONSUMER.CREATE.<stream>` form (and DIRECT/MSG.GET) carries none, and pulling
 * (`CONSUMER.MSG.NEXT.<stream>.<name>`) is addressed by consumer name, which a permission cannot tie to a
 * tenant (wildcards match whole tokens only). So an identity allowed to read a stream through consumers can
 * read all of it. No tenant gets any `$JS.API` right: tenants read their results over core NATS on
 * `keelson.results.<tenant>.>` instead.
 */
export interface NatsPermissionSet {
  /** Subjects this identity may publish to (nats-server `publish.allow`). */
  publish: string[];
  /** Subjects this identity may subscribe to (nats-server `subscribe.allow`); queue groups are not restricted. */
  subscribe: string[];
  /** May answer requests it received (nats-server `allow_responses`, one reply each). */
  allowResponses: boolean;
  /** The nats.js `inboxPrefix` this identity must use; its subscribe list holds `<inboxPrefix>.>`. */
  inboxPrefix: string;
}

export const KEELSON_SERVICES = ['gateway', 'session-agent', 'task-worker', 'memory-service', 'audit-service', 'guard-service'] as const;
export type KeelsonService = (typeof KEELSON_SERVICES)[number];

/** Reply inboxes: `_INBOX.svc.<service>` and `_INBOX.tenant.<tenant>` never collide, whatever a tenant is called. */
export const serviceInboxPrefix = (service: string): string => `_INBOX.svc.${service}`;
export const tenantInboxPrefix = (tenant: string): string => `_INBOX.tenant.${tenant}`;

/** How long a service may take to answer a request it received (the longest invoke a deployment allows). */
export const RESPONSE_PERMISSION_EXPIRY = '1h';

// --- JetStream API subjects (the `$JS.API` prefix of the default domain) ---

const JS_API = '$JS.API';
/** `jetstreamManager()` asks the account's JetStream info first. */
const jsAccountInfo = [`${JS_API}.INFO`];

/** Create-or-update and info of the streams a service provisions at start (InfraModule `streams`). */
export function jsProvisionStreams(streams: readonly StreamSpec[]): string[] {
  return streams.flatMap((s) => [`${JS_API}.STREAM.INFO.${s.name}`, `${JS_API}.STREAM.CREATE.${s.name}`, `${JS_API}.STREAM.UPDATE.${s.name}`]);
}

/**
 * A durable pull consumer the service runs: provision it (the 2.9 create subject with and without the
 * filter token, and the older DURABLE.CREATE form), read its info, pull, and ack/nak/term/working its
 * messages (`$JS.ACK.<stream>.<durable>.…` is the reply subject of every delivered message).
 */
export function jsDurableConsumer(spec: ConsumerSpec): string[] {
  const { stream, durable } = spec;
  return [
    `${JS_API}.CONSUMER.CREATE.${stream}.${durable}`,
    `${JS_API}.CONSUMER.CREATE.${stream}.${durable}.>`,
    `${JS_API}.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
    `${JS_API}.CONSUMER.INFO.${stream}.${durable}`,
    `${JS_API}.CONSUMER.MSG.NEXT.${stream}.${durable}`,
    `$JS.ACK.${stream}.${durable}.>`,
  ];
}

/**
 * What a work-queue consumer's runner needs to re-queue the messages it would never deliver (libs/messaging
 * stranded-messages.ts): read and delete single messages of its stream, and publish the copy on the
 * consumer's own subjects.
 */
export function jsRequeueStranded(spec: ConsumerSpec): string[] {
  return [`${JS_API}.STREAM.MSG.GET.${spec.stream}`, `${JS_API}.STREAM.MSG.DELETE.${spec.stream}`, spec.filterSubject];
}

/**
 * Ordered consumers (ephemeral, named by nats.js, no acks) that read a stream: create, pull, info and delete
 * them. Whoever holds this can read the whole stream (the 2.9 limitation above).
 */
export function jsOrderedReader(stream: StreamSpec): string[] {
  const s = stream.name;
  return [
    `${JS_API}.STREAM.INFO.${s}`,
    `${JS_API}.CONSUMER.CREATE.${s}`,
    `${JS_API}.CONSUMER.CREATE.${s}.>`,
    `${JS_API}.CONSUMER.INFO.${s}.*`,
    `${JS_API}.CONSUMER.DELETE.${s}.*`,
    `${JS_API}.CONSUMER.MSG.NEXT.${s}.*`,
  ];
}

/** Every stream, as the services that pass `allStreams()` to InfraModule provision them. */
const allStreamSpecs: StreamSpec[] = [...Object.values(Streams), MemoryStreams.writes].filter(
  (s, i, list) => list.findIndex((o) => o.name === s.name) === i,
);

/** What every service does: follow the log level, record audit events (its responder answers the stats). */
function everyService(service: KeelsonService): { publish: string[]; subscribe: string[] } {
  return {
    publish: [
      // AuditTrail: every service records audit events (JetStream publish; the PubAck comes to its inbox).
      AuditSubjects.all,
      ...jsAccountInfo,
    ],
    subscribe: [
      serviceInboxPrefix(service) + '.>',
      // InfraModule: operators change the log level of every replica at run time (only the operator publishes).
      Subjects.logLevel,
    ],
  };
}

function serviceSet(service: KeelsonService, own: { publish: string[]; subscribe: string[] }): NatsPermissionSet {
  const base = everyService(service);
  return {
    publish: unique([...base.publish, ...own.publish]),
    subscribe: unique([...base.subscribe, ...own.subscribe]),
    allowResponses: false,
    inboxPrefix: serviceInboxPrefix(service),
  };
}

/** The responder identity's reply inbox prefix; it never requests, so nothing subscribes to it. */
export const responderInboxPrefix = (service: string): string => `${serviceInboxPrefix(service)}.responder`;

/**
 * A responder identity: subscribes to the requests its service answers and may publish nothing but the one
 * answer to each (`allow_responses`; an empty publish list is rendered as deny-all). Every service's responder
 * answers the dashboard's stats scatter-gather (answerOpsStats).
 */
function responderSet(service: KeelsonService, serves: string[]): NatsPermissionSet {
  return { publish: [], subscribe: unique([OpsSubjects.stats, ...serves]), allowResponses: true, inboxPrefix: responderInboxPrefix(service) };
}

const deadLetterOf = (spec: ConsumerSpec) => Subjects.deadLetter(spec.stream);
const guardRpcs = [GuardSubjects.inputRpc, GuardSubjects.outputRpc, GuardSubjects.policyRpc, GuardSubjects.revealRpc];
const memoryRpcs = [
  MemorySubjects.upsertRpc,
  MemorySubjects.searchRpc,
  MemorySubjects.getRpc,
  MemorySubjects.deleteRpc,
  MemorySubjects.eraseRpc,
  MemorySubjects.namespacesRpc,
  MemorySubjects.recallRpc,
];

/** What runs agents (session-agent, task-worker) share: the runtime's run log, metering, memory and guards. */
const agentRuntime = [
  // UsageMeter: one usage record per model call.
  UsageSubjects.all,
  // MemoryClient: a turn's facts are written asynchronously; recall is a request before the model call.
  MemorySubjects.allWrites,
  MemorySubjects.recallRpc,
  // GuardAccessModule: in-process guards fetch the tenant's policy from guard-service.
  GuardSubjects.policyRpc,
];

export const ServicePermissions: Record<KeelsonService, NatsPermissionSet> = {
  gateway: serviceSet('gateway', {
    publish: [
      // Task intake (JetStream) and the approvals API.
      Subjects.allTasks,
      Subjects.allApprovals,
      // Sessions: queue a turn; the interrupt and steer fast paths (core NATS); the relay's own run events
      // (a rejected or cancelled turn) on the session's run log.
      Subjects.allSessionTurns,
      Subjects.allSessionCancels,
      Subjects.allSessionSteers,
      'keelson.runs.*.sessions.>',
      // Synchronous invokes and their cancellation when the HTTP caller goes away.
      Subjects.invokeRpc,
      Subjects.allInvokeCancels,
      // The memory, guard and audit APIs are requests to their services (not recall: that is the runtimes').
      ...memoryRpcs.filter((s) => s !== MemorySubjects.recallRpc),
      ...guardRpcs,
      AuditSubjects.queryRpc,
      AuditSubjects.verifyRpc,
      // The operator dashboard asks every replica for its stats.
      OpsSubjects.stats,
      // A revoked API key: every gateway replica drops it from its verification cache at once.
      Subjects.apiKeyRevoked,
      // Provisions every stream at start; reads run logs and usage with ordered consumers; reads one message
      // of the tasks stream (idempotent intake) and of the run log (resume point); shows every durable's info.
      ...jsProvisionStreams(allStreamSpecs),
      ...jsOrderedReader(Streams.runs),
      ...jsOrderedReader(UsageStream),
      `${JS_API}.STREAM.MSG.GET.${Streams.tasks.name}`,
      `${JS_API}.STREAM.MSG.GET.${Streams.runs.name}`,
      ...Object.values(Consumers).map((c) => `${JS_API}.CONSUMER.INFO.${c.stream}.${c.durable}`),
    ],
    subscribe: [
      // A streamed invoke follows its run's events over core NATS.
      'keelson.runs.*.invokes.>',
      Subjects.apiKeyRevoked,
    ],
  }),
  'session-agent': serviceSet('session-agent', {
    publish: [
      // Session turns' and streamed invokes' run events.
      'keelson.runs.*.sessions.>',
      'keelson.runs.*.invokes.>',
      ...agentRuntime,
      Subjects.deadLetter(Consumers.sessionAgent.stream),
      ...jsProvisionStreams(allStreamSpecs),
      ...jsDurableConsumer(Consumers.sessionAgent),
      ...jsRequeueStranded(Consumers.sessionAgent),
    ],
    // Turns' interrupt and steer fast paths (invokes and their cancellations are the responder's).
    subscribe: [Subjects.allSessionCancels, Subjects.allSessionSteers],
  }),
  'task-worker': serviceSet('task-worker', {
    publish: [
      // A task's run events and its one final result.
      'keelson.runs.*.tasks.>',
      Subjects.allResults,
      // The approval sweeper rejects approvals nobody decided in time.
      Subjects.allApprovals,
      ...agentRuntime,
      deadLetterOf(Consumers.taskWorker),
      deadLetterOf(Consumers.taskApprovals),
      ...jsProvisionStreams(allStreamSpecs),
      ...jsDurableConsumer(Consumers.taskWorker),
      ...jsDurableConsumer(Consumers.taskApprovals),
      ...jsRequeueStranded(Consumers.taskWorker),
      ...jsRequeueStranded(Consumers.taskApprovals),
    ],
    subscribe: [],
  }),
  'memory-service': serviceSet('memory-service', {
    publish: [
      deadLetterOf(MemoryConsumers.writer),
      ...jsProvisionStreams(allStreamSpecs),
      ...jsDurableConsumer(MemoryConsumers.writer),
      ...jsRequeueStranded(MemoryConsumers.writer),
    ],
    subscribe: [],
  }),
  'audit-service': serviceSet('audit-service', {
    publish: [
      deadLetterOf(AuditConsumers.writer),
      ...jsProvisionStreams(allStreamSpecs),
      ...jsDurableConsumer(AuditConsumers.writer),
      // The run archiver reads finished runs from the run log.
      ...jsOrderedReader(Streams.runs),
      // Stored payloads are scrubbed with the tenant's guard policy, asked of guard-service.
      GuardSubjects.policyRpc,
    ],
    subscribe: [],
  }),
  'guard-service': serviceSet('guard-service', {
    publish: [
      // Decisions as CloudEvents (core NATS) for whoever follows them.
      GuardSubjects.allDecisions,
      // Provisions only the audit stream it records into.
      ...jsProvisionStreams([AuditStream]),
    ],
    subscribe: [],
  }),
};

/** What each service's responder connection answers (serveRequests and answerOpsStats run on it). */
export const ResponderPermissions: Record<KeelsonService, NatsPermissionSet> = {
  gateway: responderSet('gateway', []),
  // Invokes (queue keelson-agents) and their cancellations, on one connection so a cancel never overtakes
  // its invoke.
  'session-agent': responderSet('session-agent', [Subjects.invokeRpc, Subjects.allInvokeCancels]),
  'task-worker': responderSet('task-worker', []),
  // The memory RPCs (queue keelson-memory).
  'memory-service': responderSet('memory-service', memoryRpcs),
  // Query and verification RPCs (queue keelson-audit).
  'audit-service': responderSet('audit-service', [AuditSubjects.queryRpc, AuditSubjects.verifyRpc]),
  // The guard RPCs (queue keelson-guard).
  'guard-service': responderSet('guard-service', guardRpcs),
};

/**
 * An external publisher of tenant `tenant`: publishes tasks for its own agents (JetStream; the PubAck comes
 * to its private inbox, so its client sets `inboxPrefix: tenantInboxPrefix(tenant)`), and follows its own
 * results over core NATS. No JetStream API at all, no other tenant's subjects, no responses.
 */
export function tenantPermissions(tenant: string): NatsPermissionSet {
  return {
    publish: [`keelson.tasks.${tenant}.*`],
    subscribe: [Subjects.tenantResults(tenant), `${tenantInboxPrefix(tenant)}.>`],
    allowResponses: false,
    inboxPrefix: tenantInboxPrefix(tenant),
  };
}

/** Tools, tests and operators (the log-level command, stream administration): everything. */
export const OperatorPermissions: NatsPermissionSet = { publish: ['>'], subscribe: ['>'], allowResponses: false, inboxPrefix: '_INBOX' };

/**
 * Whether `subject` (a concrete subject, or a subscription with wildcards) is covered by `allowed` under
 * NATS matching: `*` is one token, a trailing `>` one or more. A wildcard subject is covered only when a
 * pattern covers all it can match.
 */
export function subjectAllowed(allowed: readonly string[], subject: string): boolean {
  return allowed.some((pattern) => covers(pattern, subject));
}

function covers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (s[i] === '>') return false;
    if (p[i] === '*') continue;
    if (p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}
