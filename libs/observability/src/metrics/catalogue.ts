/**
 * Every metric Keelson exports, declared once: name (Prometheus conventions: `keelson_` prefix, base units,
 * `_total` for counters), type, help and labels. Services register what they use from here (metrics.ts),
 * and deploy/ (Grafana dashboards, alert rules) is checked against this list, so a renamed metric cannot
 * leave a dashboard silently empty. Labels are bounded: tenant, agent, model, route templates, codes;
 * never a session, task, run or trace id.
 */
export interface MetricSpec {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  labels: readonly string[];
  /** Histogram bucket upper bounds, in the metric's unit. */
  buckets?: readonly number[];
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export const Metrics = {
  httpRequestDuration: {
    name: 'keelson_http_request_duration_seconds',
    type: 'histogram',
    help: 'HTTP request latency at the gateway, by route template and execution model (stateless, session, task, other).',
    labels: ['method', 'route', 'status_class', 'execution_model'],
    buckets: LATENCY_BUCKETS,
  },
  httpErrors: {
    name: 'keelson_http_errors_total',
    type: 'counter',
    help: 'HTTP error answers at the gateway, by route template and error code.',
    labels: ['route', 'status', 'code'],
  },
  modelCalls: {
    name: 'keelson_model_calls_total',
    type: 'counter',
    help: 'Model calls, by how they ended (completed, cancelled, failed, truncated).',
    labels: ['tenant', 'agent', 'provider', 'model', 'status'],
  },
  modelTokens: {
    name: 'keelson_model_tokens_total',
    type: 'counter',
    help: 'Tokens of model calls; direction is input, output or cached_input (cached is part of input).',
    labels: ['tenant', 'agent', 'model', 'direction'],
  },
  modelCost: {
    name: 'keelson_model_cost_usd_total',
    type: 'counter',
    help: 'Cost of model calls in US dollars, from the versioned price table.',
    labels: ['tenant', 'agent', 'model'],
  },
  timeToFirstToken: {
    name: 'keelson_time_to_first_token_seconds',
    type: 'histogram',
    help: 'From the start of a model call to its first text, by execution model.',
    labels: ['agent', 'model', 'execution_model'],
    buckets: LATENCY_BUCKETS,
  },
  routingDecisions: {
    name: 'keelson_routing_decisions_total',
    type: 'counter',
    help: 'Model routing decisions of routed agents, by policy and tier served.',
    labels: ['tenant', 'policy', 'tier', 'downgraded'],
  },
  budgetRefusals: {
    name: 'keelson_budget_refusals_total',
    type: 'counter',
    help: 'Requests and model calls refused by a budget, by budget scope and window.',
    labels: ['tenant', 'scope', 'window'],
  },
  admissionAdmitted: {
    name: 'keelson_admission_admitted_total',
    type: 'counter',
    help: 'Requests admitted by the gateway\'s admission control, by request class (invoke, session, task, other).',
    labels: ['class'],
  },
  admissionShed: {
    name: 'keelson_admission_shed_total',
    type: 'counter',
    help: 'Requests refused by admission control before any work (503 overloaded), by request class and reason.',
    labels: ['class', 'reason'],
  },
  admissionQueueWait: {
    name: 'keelson_admission_queue_wait_seconds',
    type: 'histogram',
    help: 'Time an admitted request waited for a slot, by request class.',
    labels: ['class'],
    buckets: [0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  },
  admissionInFlight: {
    name: 'keelson_admission_in_flight',
    type: 'gauge',
    help: 'Requests being worked on, by request class, at scrape time.',
    labels: ['class'],
  },
  admissionQueued: {
    name: 'keelson_admission_queued',
    type: 'gauge',
    help: 'Requests waiting for a slot, by request class, at scrape time.',
    labels: ['class'],
  },
  admissionLimit: {
    name: 'keelson_admission_limit',
    type: 'gauge',
    help: 'The in-flight limit in force (adaptive: follows latency up to its configured ceiling), by request class.',
    labels: ['class'],
  },
  admissionEventLoopDelay: {
    name: 'keelson_admission_event_loop_delay_seconds',
    type: 'gauge',
    help: 'The event-loop delay admission control judges saturation by, at scrape time.',
    labels: [],
  },
  rpcShed: {
    name: 'keelson_rpc_shed_total',
    type: 'counter',
    help: 'Requests a NATS responder answered 503 overloaded without running them (its queue full, standing, or a wait past its budget), by subject and reason.',
    labels: ['subject', 'reason'],
  },
  rpcQueueWait: {
    name: 'keelson_rpc_queue_wait_seconds',
    type: 'histogram',
    help: 'Time a request a NATS responder ran had waited for one of its slots (0 when one was free), by subject.',
    labels: ['subject'],
    buckets: [0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  },
  rateLimitRefusals: {
    name: 'keelson_rate_limit_refusals_total',
    type: 'counter',
    help: 'Requests refused by a rate limit (429), by limit scope and kind.',
    labels: ['tenant', 'scope', 'kind'],
  },
  guardDecisions: {
    name: 'keelson_guard_decisions_total',
    type: 'counter',
    help: 'Guard decisions, by check (input, output, policy), action and source.',
    labels: ['type', 'action', 'source'],
  },
  guardFindings: {
    name: 'keelson_guard_findings_total',
    type: 'counter',
    help: 'What the guard found, by finding type (an injection category or an entity type).',
    labels: ['type', 'finding'],
  },
  consumerPending: {
    name: 'keelson_jetstream_consumer_pending_messages',
    type: 'gauge',
    help: 'Messages of a stream not yet delivered to the durable consumer (its lag).',
    labels: ['stream', 'consumer'],
  },
  consumerAckPending: {
    name: 'keelson_jetstream_consumer_ack_pending_messages',
    type: 'gauge',
    help: 'Messages delivered to the durable consumer and not yet acknowledged.',
    labels: ['stream', 'consumer'],
  },
  messagesProcessed: {
    name: 'keelson_jetstream_messages_processed_total',
    type: 'counter',
    help: 'Messages a consumer settled, by outcome (ack, nak, defer, dead-letter, released).',
    labels: ['stream', 'consumer', 'outcome'],
  },
  redeliveries: {
    name: 'keelson_jetstream_redeliveries_total',
    type: 'counter',
    help: 'Messages received again (delivery count above 1).',
    labels: ['stream', 'consumer'],
  },
  deadLetters: {
    name: 'keelson_jetstream_dead_letters_total',
    type: 'counter',
    help: 'Messages given up on and parked on KEELSON_DLQ, by source stream.',
    labels: ['stream', 'consumer'],
  },
  turnsRunning: {
    name: 'keelson_session_turns_running',
    type: 'gauge',
    help: 'Session turns this session-agent replica is running now.',
    labels: [],
  },
  sessionsActive: {
    name: 'keelson_sessions_active',
    type: 'gauge',
    help: 'Sessions with a turn on this session-agent replica in the last 15 minutes.',
    labels: [],
  },
  agentRuns: {
    name: 'keelson_agent_runs_total',
    type: 'counter',
    help: 'Finished agent runs by agent version; arm is stable, canary or pinned under a rollout, default without one (docs/rollouts.md).',
    labels: ['agent', 'agent_version', 'arm', 'outcome'],
  },
  rolloutRollbacks: {
    name: 'keelson_rollout_rollbacks_total',
    type: 'counter',
    help: 'Rollouts rolled back, by the evaluator (trigger automatic) or an operator (manual).',
    labels: ['agent', 'trigger'],
  },
  killSwitchRefusals: {
    name: 'keelson_kill_switch_refusals_total',
    type: 'counter',
    help: 'Requests and runs refused by a kill switch, by code (agent_disabled, tenant_suspended).',
    labels: ['code'],
  },
  taskRunsRunning: {
    name: 'keelson_task_runs_running',
    type: 'gauge',
    help: 'Task runs this task-worker replica is running now (paused runs waiting for approval not counted).',
    labels: [],
  },
  memoryRecallDuration: {
    name: 'keelson_memory_recall_duration_seconds',
    type: 'histogram',
    help: 'Memory recall before a turn, by outcome (ok, late, unavailable).',
    labels: ['outcome'],
    buckets: LATENCY_BUCKETS,
  },
  auditEvents: {
    name: 'keelson_audit_events_total',
    type: 'counter',
    help: 'Audit events audit-service handled, by outcome (stored, duplicate, dead_lettered).',
    labels: ['outcome'],
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof Metrics;

/** Every metric name, including the process metrics each service exports with the `keelson_` prefix (`keelson_process_*`, `keelson_nodejs_*`). */
export const METRIC_NAMES: readonly string[] = Object.values(Metrics).map((m) => m.name);
