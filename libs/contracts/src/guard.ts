import { z } from 'zod';
import { RpcErrorReplySchema } from './rpc';
import { RESOURCE_ID_PATTERN, TENANT_ID_PATTERN } from './ids';

/**
 * The guard (guard-service, and @keelson/guard in-process): input checks against prompt injection, output
 * filtering of PII and secrets, per-tenant policies. Offsets are Unicode code points into the text as sent.
 */

/** Where a text comes from: content from tools, memory and retrieved documents is checked like the user's. */
export const GUARD_SOURCES = ['user', 'tool', 'memory', 'document'] as const;
export type GuardSource = (typeof GUARD_SOURCES)[number];

/** What the input check reports; each is a category of injection signal. */
export const INJECTION_CATEGORIES = [
  'instruction_override',
  'persona_jailbreak',
  'prompt_extraction',
  'delimiter_spoofing',
  'tool_call_spoofing',
  'indirect_injection',
  'coercion',
  'obfuscation',
] as const;
export type InjectionCategory = (typeof INJECTION_CATEGORIES)[number];

/** What the output filter finds. See docs/guard.md for each type's check rule. */
export const ENTITY_TYPES = [
  'EMAIL_ADDRESS',
  'PHONE_NUMBER',
  'CREDIT_CARD',
  'IBAN_CODE',
  'US_SSN',
  'UK_NINO',
  'ES_NIF',
  'IP_ADDRESS',
  'DATE_OF_BIRTH',
  'STREET_ADDRESS',
  'PERSON',
  'URL_CREDENTIALS',
  'PASSWORD',
  'API_KEY',
  'PRIVATE_KEY',
  'JWT',
] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export const GUARD_ACTIONS = ['block', 'redact', 'flag', 'off'] as const;
export type GuardAction = (typeof GUARD_ACTIONS)[number];

export const REDACTION_MODES = ['mask', 'placeholder', 'pseudonym'] as const;
export type RedactionMode = (typeof REDACTION_MODES)[number];

/** Longest text one guard call takes (characters); longer texts are refused, never cut. */
export const MAX_GUARD_TEXT = 1_000_000;

const threshold = z.number().min(0).max(1);

export const InputPolicySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** A score at or above it is an injection: its category's action applies (block by default). */
    blockThreshold: threshold.default(0.5),
    /** Scores in [uncertainThreshold, blockThreshold) go to stage 2 when it is on; below is clean. */
    uncertainThreshold: threshold.default(0.3),
    /** Which sources are checked; an unchecked source is always allowed. */
    sources: z.array(z.enum(GUARD_SOURCES)).default([...GUARD_SOURCES]),
    /** Action when the score reaches blockThreshold, per category (the first matching category decides). */
    actions: z.partialRecord(z.enum(INJECTION_CATEGORIES), z.enum(['block', 'flag', 'off'])).default({}),
    stage2: z
      .object({ enabled: z.boolean().default(false), timeoutMs: z.number().int().min(10).max(10_000).default(400) })
      .strict()
      .default({ enabled: false, timeoutMs: 400 }),
    /** Phrases (case-insensitive, after normalisation) removed before scoring: the tenant's own legitimate jargon. */
    allowPhrases: z.array(z.string().min(3).max(200)).max(200).default([]),
  })
  .strict();
export type InputPolicy = z.infer<typeof InputPolicySchema>;

export const OutputPolicySchema = z
  .object({
    enabled: z.boolean().default(true),
    mode: z.enum(REDACTION_MODES).default('placeholder'),
    /** Action per entity type; a type not listed is redacted. `block` refuses the whole text. */
    actions: z.partialRecord(z.enum(ENTITY_TYPES), z.enum(GUARD_ACTIONS)).default({}),
    /** Exact values never redacted (a support address, the company's own phone number), compared case-insensitively. */
    allowValues: z.array(z.string().min(1).max(500)).max(1_000).default([]),
  })
  .strict();
export type OutputPolicy = z.infer<typeof OutputPolicySchema>;

/** Fields an agent may override; anything not given comes from the tenant's policy. */
export const AgentPolicyOverrideSchema = z
  .object({ input: InputPolicySchema.partial().optional(), output: OutputPolicySchema.partial().optional() })
  .strict();
export type AgentPolicyOverride = z.infer<typeof AgentPolicyOverrideSchema>;

/** A tenant's guard policy as the caller writes it (`PUT /v1/guard/policy`); every field has a default. */
export const GuardPolicyInputSchema = z
  .object({
    input: InputPolicySchema.default(InputPolicySchema.parse({})),
    output: OutputPolicySchema.default(OutputPolicySchema.parse({})),
    agents: z
      .record(z.string().regex(RESOURCE_ID_PATTERN, 'expected an agent id'), AgentPolicyOverrideSchema)
      .refine((a) => Object.keys(a).length <= 500, 'at most 500 agent overrides')
      .default({}),
  })
  .strict();
export type GuardPolicyInput = z.input<typeof GuardPolicyInputSchema>;

/** A stored policy: what was written plus its version (1, 2, ... per tenant) and when. */
export const GuardPolicySchema = GuardPolicyInputSchema.extend({
  version: z.number().int().min(0),
  updatedAt: z.string(),
});
export type GuardPolicy = z.infer<typeof GuardPolicySchema>;

// --- HTTP (the gateway) ---

/** `POST /v1/guard/input` */
export const GuardInputRequestSchema = z
  .object({
    text: z.string().max(MAX_GUARD_TEXT, `at most ${MAX_GUARD_TEXT} characters`),
    source: z.enum(GUARD_SOURCES).default('user'),
    agentId: z.string().regex(RESOURCE_ID_PATTERN, 'expected an agent id').optional(),
  })
  .strict();
export type GuardInputRequest = z.input<typeof GuardInputRequestSchema>;

export const InjectionFindingSchema = z.object({
  type: z.enum(INJECTION_CATEGORIES),
  /** The rule that matched, e.g. `override.ignore_previous`; `stage2` for the model classifier's verdict. */
  rule: z.string(),
  weight: z.number(),
  /** True when the rule matched inside a decoded payload (base64, hex, URL-encoded). */
  encoded: z.boolean().optional(),
});
export type InjectionFinding = z.infer<typeof InjectionFindingSchema>;

export const GuardInputResponseSchema = z.object({
  allowed: z.boolean(),
  score: z.number().min(0).max(1),
  action: z.enum(['allow', 'block', 'flag']),
  findings: z.array(InjectionFindingSchema),
  /** `stage1`, `stage2`, or `stage2:timeout` / `stage2:error` when the model failed and stage 1 decided. */
  decidedBy: z.string(),
  policyVersion: z.number().int(),
});
export type GuardInputResponse = z.infer<typeof GuardInputResponseSchema>;

/** `POST /v1/guard/output` */
export const GuardOutputRequestSchema = z
  .object({
    text: z.string().max(MAX_GUARD_TEXT, `at most ${MAX_GUARD_TEXT} characters`),
    agentId: z.string().regex(RESOURCE_ID_PATTERN, 'expected an agent id').optional(),
  })
  .strict();
export type GuardOutputRequest = z.input<typeof GuardOutputRequestSchema>;

export const EntityFindingSchema = z.object({
  type: z.enum(ENTITY_TYPES),
  /** Code points, end exclusive, into the text as sent. */
  start: z.number().int().min(0),
  end: z.number().int().min(0),
  action: z.enum(GUARD_ACTIONS).optional(),
});
export type EntityFinding = z.infer<typeof EntityFindingSchema>;

export const GuardOutputResponseSchema = z.object({
  /** The redacted text; empty when a finding's action is `block` (then `blocked` is true). */
  text: z.string(),
  findings: z.array(EntityFindingSchema),
  blocked: z.boolean(),
  policyVersion: z.number().int(),
});
export type GuardOutputResponse = z.infer<typeof GuardOutputResponseSchema>;

// --- Decisions (events; never the matched value) ---

export const GuardDecisionSchema = z.object({
  type: z.enum(['input', 'output', 'policy']),
  tenant: z.string(),
  agentId: z.string().optional(),
  source: z.enum(GUARD_SOURCES).optional(),
  action: z.enum(['allow', 'block', 'flag', 'redact', 'update']),
  score: z.number().optional(),
  /** Rule ids and stage notes, e.g. `override.ignore_previous`, `stage2:timeout`. */
  reasons: z.array(z.string()),
  /** Finding type -> count; never the matched text. */
  counts: z.record(z.string(), z.number().int()),
  policyVersion: z.number().int(),
  at: z.string(),
});
export type GuardDecision = z.infer<typeof GuardDecisionSchema>;

/** CloudEvent type of a decision (`dev.keelson.guard.decision.v1`), published on GuardSubjects.decisions(tenant). */
export const GUARD_DECISION_EVENT_TYPE = 'dev.keelson.guard.decision.v1';

// --- RPC (core NATS request-reply, queue group keelson-guard) ---

export const GuardSubjects = {
  inputRpc: 'keelson.rpc.guard.input',
  outputRpc: 'keelson.rpc.guard.output',
  /** `{tenant}` gets the policy; `{tenant, policy, expectedVersion?}` replaces it (version + 1). */
  policyRpc: 'keelson.rpc.guard.policy',
  /**
   * `{tenant, text}` -> the text with the tenant's pseudonym tokens turned back into their values. Only the
   * gateway's `POST /v1/guard/reveal` (scope `guard:reveal`, audited) should be allowed to call it.
   */
  revealRpc: 'keelson.rpc.guard.reveal',
  /** Core NATS, fire-and-forget: one GuardDecision per call (for audit and metrics subscribers). */
  decisions: (tenant: string) => `keelson.guard.decisions.${tenant}`,
  allDecisions: 'keelson.guard.decisions.>',
} as const;

export const GuardQueueGroup = 'keelson-guard';

const tenant = z.string().regex(TENANT_ID_PATTERN);

export const GuardInputRpcRequestSchema = GuardInputRequestSchema.extend({ tenant });
export type GuardInputRpcRequest = z.input<typeof GuardInputRpcRequestSchema>;
export const GuardOutputRpcRequestSchema = GuardOutputRequestSchema.extend({ tenant });
export type GuardOutputRpcRequest = z.input<typeof GuardOutputRpcRequestSchema>;
export const GuardPolicyRpcRequestSchema = z
  .object({
    tenant,
    /** Absent: read. Present: validate and store as the next version. */
    policy: z.unknown().optional(),
    /** Optimistic concurrency: refuse (409) unless the stored version is this one. */
    expectedVersion: z.number().int().min(0).optional(),
  })
  .strict();
export type GuardPolicyRpcRequest = z.infer<typeof GuardPolicyRpcRequestSchema>;


/** `POST /v1/guard/reveal`: text holding pseudonym tokens such as `[EMAIL_ADDRESS:1a2b3c4d5e]`. */
export const GuardRevealRequestSchema = z.object({ text: z.string().min(1).max(MAX_GUARD_TEXT, `at most ${MAX_GUARD_TEXT} characters`) }).strict();
export const GuardRevealRpcRequestSchema = GuardRevealRequestSchema.extend({ tenant });
export const GuardRevealResponseSchema = z.object({
  text: z.string(),
  /** Tokens turned back into values. */
  revealed: z.number().int().nonnegative(),
  /** Tokens of the text this tenant's vault does not hold (expired, another tenant's, made up); left as they are. */
  unknown: z.number().int().nonnegative(),
});
export type GuardRevealResponse = z.infer<typeof GuardRevealResponseSchema>;
export const GuardRevealRpcReplySchema = z.union([GuardRevealResponseSchema.extend({ ok: z.literal(true) }), RpcErrorReplySchema]);
export type GuardRevealRpcReply = z.infer<typeof GuardRevealRpcReplySchema>;

export const GuardInputRpcReplySchema = z.union([GuardInputResponseSchema.extend({ ok: z.literal(true) }), RpcErrorReplySchema]);
export type GuardInputRpcReply = z.infer<typeof GuardInputRpcReplySchema>;
export const GuardOutputRpcReplySchema = z.union([GuardOutputResponseSchema.extend({ ok: z.literal(true) }), RpcErrorReplySchema]);
export type GuardOutputRpcReply = z.infer<typeof GuardOutputRpcReplySchema>;
export const GuardPolicyRpcReplySchema = z.union([z.object({ ok: z.literal(true), policy: GuardPolicySchema }), RpcErrorReplySchema]);
export type GuardPolicyRpcReply = z.infer<typeof GuardPolicyRpcReplySchema>;

/** The guard's own error codes, kept apart from ErrorCodes until the lead merges them. */
export const GuardErrorCodes = {
  /** PUT with expectedVersion that is not the stored version. */
  policyVersionConflict: 'policy_version_conflict',
  /** 409 on reveal: this deployment keeps no pseudonyms (guard-service has no GUARD_PSEUDONYM_KEY_FILE). */
  pseudonymsOff: 'pseudonyms_off',
} as const;
