import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ErrorCodes, KeelsonError, type AuditActor } from '@keelson/contracts';
import type { AuditDraft, AuditSink } from '@keelson/audit';
import type { MessagingLogger } from '@keelson/messaging';
import { AUDIT_TRAIL, SERVICE_LOGGER } from '@keelson/nest-kit';

export type GatewayAuditDraft = Omit<AuditDraft, 'id' | 'actor'> & { id?: string; apiKeyId?: string };

/**
 * The gateway's audit events. Two strengths: `required` for administrative actions and lifecycle changes an
 * auditor must find (the request fails with 503 when the event cannot be stored, and the caller retries an
 * idempotent call), `noted` for decisions where failing the caller would help no one (logged instead).
 */
@Injectable()
export class GatewayAudit {
  constructor(
    @Inject(AUDIT_TRAIL) private readonly sink: AuditSink,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
  ) {}

  async required(draft: GatewayAuditDraft): Promise<void> {
    try {
      await this.sink.record(toDraft(draft));
    } catch (err) {
      this.logger.error('audit event not recorded; refusing the request', { type: draft.type, tenant: draft.tenant, error: (err as Error).message });
      throw new KeelsonError(503, ErrorCodes.unavailable, 'the audit trail is unavailable; retry the request');
    }
  }

  async noted(draft: GatewayAuditDraft): Promise<void> {
    try {
      await this.sink.record(toDraft(draft));
    } catch (err) {
      this.logger.error('audit event not recorded', { type: draft.type, tenant: draft.tenant, error: (err as Error).message });
    }
  }
}

function toDraft({ apiKeyId, id, ...rest }: GatewayAuditDraft): AuditDraft {
  // A token's caller is a person (or workload) of the identity provider: `jwt:{sub}` becomes a user actor.
  const actor: AuditActor | undefined = apiKeyId
    ? apiKeyId.startsWith('jwt:')
      ? { kind: 'user', id: apiKeyId.slice(4) }
      : { kind: 'api_key', id: apiKeyId }
    : undefined;
  return { ...rest, id: id ?? `gw:${randomUUID()}`, ...(actor ? { actor } : {}) };
}
