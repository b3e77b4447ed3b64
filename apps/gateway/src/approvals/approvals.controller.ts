import { Body, Controller, Inject, Param, Post, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  APPROVAL_ID_PATTERN,
  ApprovalDecisionSchema,
  ErrorCodes,
  KeelsonError,
  Subjects,
  parseOrThrow,
  type ApprovalAccepted,
  type ApprovalCommand, Scopes } from '@keelson/contracts';
import type { JetStreamPublisher } from '@keelson/messaging';
import { JETSTREAM_PUBLISHER } from '@keelson/nest-kit';
import { ApprovalStore, type ApprovalRecord } from '@keelson/state';
import type { FastifyReply } from 'fastify';
import { AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';

/**
 * Decisions on paused task runs. The decision is taken in Redis first (the first one wins, atomically; a
 * pending approval past its timeout becomes rejected), then a command on KEELSON_APPROVALS has whichever
 * task-worker takes it continue the run. A repeated or late decision (409) publishes the stored decision again
 * (de-duplicated by approval id), so a decision whose publish was lost still resumes its run.
 */
@Controller('v1/approvals')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.tasks)
@UseInterceptors(TenantContextInterceptor)
export class ApprovalsController {
  constructor(
    @Inject(ApprovalStore) private readonly approvals: ApprovalStore,
    @Inject(JETSTREAM_PUBLISHER) private readonly publisher: JetStreamPublisher,
  ) {}

  @Post(':approvalId')
  async decide(
    @Tenant() tenant: string,
    @Param('approvalId') approvalId: string,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const notFound = () => new KeelsonError(404, ErrorCodes.approvalNotFound, `no approval "${approvalId}"`, 'approvalId');
    if (!APPROVAL_ID_PATTERN.test(approvalId)) throw notFound();
    const decision = parseOrThrow(ApprovalDecisionSchema, body);
    const result = await this.approvals.decide(tenant, approvalId, decision.decision === 'approve', decision.reason);
    if (result.kind === 'missing') throw notFound();
    const record = await this.approvals.get(tenant, approvalId);
    if (!record) throw notFound();
    if (!record.resumed) await this.resume(tenant, record);
    if (result.kind === 'expired') {
      throw new KeelsonError(409, ErrorCodes.approvalDecided, `approval "${approvalId}" expired at ${record.expiresAt}; the call was rejected`);
    }
    if (result.kind === 'decided') {
      throw new KeelsonError(409, ErrorCodes.approvalDecided, `approval "${approvalId}" was already ${result.status}`);
    }
    const accepted: ApprovalAccepted = { approvalId, status: record.status === 'approved' ? 'approved' : 'rejected' };
    await reply.status(202).send(accepted);
  }

  private async resume(tenant: string, record: ApprovalRecord): Promise<void> {
    const command: ApprovalCommand = {
      decision: record.status === 'approved' ? 'approve' : 'reject',
      ...(record.reason ? { reason: record.reason } : {}),
    };
    await this.publisher.publish(Subjects.approval(tenant, record.approvalId), command, { msgId: `approval:${tenant}:${record.approvalId}` });
  }
}
