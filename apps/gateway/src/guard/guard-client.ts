import { Inject, Injectable } from '@nestjs/common';
import {
  ErrorCodes,
  GuardInputRequestSchema,
  GuardOutputRequestSchema,
  GuardRevealRequestSchema,
  GuardSubjects,
  KeelsonError,
  parseOrThrow,
  type ErrorCode,
  type GuardInputResponse,
  type GuardInputRpcReply,
  type GuardOutputResponse,
  type GuardOutputRpcReply,
  type GuardPolicy,
  type GuardPolicyRpcReply,
  type GuardRevealResponse,
  type GuardRevealRpcReply,
} from '@keelson/contracts';
import { NoRespondersError, RequestTimeoutError, request } from '@keelson/messaging';
import { NATS_CONNECTION } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';

/** How long the gateway waits for guard-service (stage 2, when on, has its own shorter timeout inside). */
export const GUARD_RPC_TIMEOUT_MS = 5_000;

type ErrorHalf = { ok: false; status: number; code: string; message: string; field?: string };

/**
 * The gateway's side of the guard RPCs: validates the HTTP body (400 naming the field before anything is
 * sent), adds the caller's tenant, and turns every failure into a KeelsonError (503 nobody answering,
 * 504 timeout, or guard-service's own error reply).
 */
@Injectable()
export class GuardClient {
  constructor(@Inject(NATS_CONNECTION) private readonly nats: NatsConnection) {}

  private async call<R extends { ok: boolean }>(subject: string, body: unknown): Promise<Exclude<R, ErrorHalf>> {
    let reply: R;
    try {
      reply = await request<R>(this.nats, subject, body, { timeoutMs: GUARD_RPC_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof NoRespondersError) throw new KeelsonError(503, ErrorCodes.unavailable, 'guard-service is not running; try again shortly');
      if (err instanceof RequestTimeoutError) throw new KeelsonError(504, ErrorCodes.timeout, `guard-service did not answer within ${GUARD_RPC_TIMEOUT_MS} ms`);
      throw err;
    }
    if (!reply.ok) {
      const e = reply as unknown as ErrorHalf;
      throw new KeelsonError(e.status, e.code as ErrorCode, e.message, e.field);
    }
    return reply as Exclude<R, ErrorHalf>;
  }

  async checkInput(tenant: string, body: unknown): Promise<GuardInputResponse> {
    const req = parseOrThrow(GuardInputRequestSchema, body);
    const { ok: _ok, ...r } = await this.call<GuardInputRpcReply>(GuardSubjects.inputRpc, { tenant, ...req });
    return r;
  }

  async filterOutput(tenant: string, body: unknown): Promise<GuardOutputResponse> {
    const req = parseOrThrow(GuardOutputRequestSchema, body);
    const { ok: _ok, ...r } = await this.call<GuardOutputRpcReply>(GuardSubjects.outputRpc, { tenant, ...req });
    return r;
  }

  async reveal(tenant: string, body: unknown): Promise<GuardRevealResponse> {
    const req = parseOrThrow(GuardRevealRequestSchema, body);
    const { ok: _ok, ...r } = await this.call<GuardRevealRpcReply>(GuardSubjects.revealRpc, { tenant, ...req });
    return r;
  }

  async getPolicy(tenant: string): Promise<GuardPolicy> {
    return (await this.call<GuardPolicyRpcReply>(GuardSubjects.policyRpc, { tenant })).policy;
  }

  /** `expectedVersion` from the If-Match header (a bare or quoted number), for optimistic concurrency. */
  async putPolicy(tenant: string, body: unknown, ifMatch?: string): Promise<GuardPolicy> {
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new KeelsonError(400, ErrorCodes.validationFailed, '(body): expected a policy object', '(body)');
    }
    let expectedVersion: number | undefined;
    if (ifMatch !== undefined) {
      const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(ifMatch);
      if (!m) throw new KeelsonError(400, ErrorCodes.validationFailed, 'If-Match: expected the policy version, e.g. "3"', 'If-Match');
      expectedVersion = Number(m[1]);
    }
    const reply = await this.call<GuardPolicyRpcReply>(GuardSubjects.policyRpc, { tenant, policy: body, ...(expectedVersion !== undefined ? { expectedVersion } : {}) });
    return reply.policy;
  }
}
