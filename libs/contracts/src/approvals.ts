import { createHash } from 'node:crypto';
import { z } from 'zod';

/** `POST /v1/approvals/{approvalId}`: approve or reject the tool call a paused run waits on. */
export const ApprovalDecisionSchema = z
  .object({
    decision: z.enum(['approve', 'reject']),
    /** Given back to the model with a rejection. */
    reason: z.string().max(2_000).optional(),
  })
  .strict();
export type ApprovalDecision = z.infer<typeof ApprovalDecisionSchema>;

/**
 * On `keelson.approvals.{tenant}.{approvalId}` (the KEELSON_APPROVALS stream): a decision, published by the
 * gateway for an HTTP decision or by a tenant's own publisher; the approval id comes from the subject.
 */
export const ApprovalCommandSchema = ApprovalDecisionSchema;
export type ApprovalCommand = ApprovalDecision;

/** The 202 answer to a decision: the approval and what it now is. */
export const ApprovalAcceptedSchema = z.object({ approvalId: z.string(), status: z.enum(['approved', 'rejected']) });
export type ApprovalAccepted = z.infer<typeof ApprovalAcceptedSchema>;

export const APPROVAL_ID_PATTERN = /^apr_[a-f0-9]{32}$/;

/** The approval id of one tool call of one run: stable, so a re-run that pauses at the same call reuses it. */
export function approvalIdFor(runId: string, callId: string): string {
  return `apr_${createHash('sha256').update(`${runId}\n${callId}`).digest('hex').slice(0, 32)}`;
}
