import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCodes, KeelsonError, Scopes, SendMessageRequestSchema, Subjects, hasScope, parseOrThrow, type ErrorBody } from '@keelson/contracts';
import type { MessagingLogger } from '@keelson/messaging';
import { toErrorResponse } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';
import { WebSocketServer, type WebSocket } from 'ws';
import { AuthError, type Authenticator } from '@keelson/identity';
import type { DenialLog } from '../auth/denial-log';
import type { SessionStore } from '@keelson/state';
import { resumePoint } from '../run-log/resume-point';
import type { RetentionPolicy } from '../run-log/retention';
import { readRunLog } from '../run-log/run-log-reader';
import type { TurnRelay } from './turn-relay';

const PATH = /^\/v1\/sessions\/([A-Za-z0-9_-]{1,128})\/ws$/;

/**
 * `GET /v1/sessions/{id}/ws`: each text frame `{"content": "...", "onBusy"?: "reject" | "enqueue" | "interrupt"}` is one turn; its run events come back as
 * `{"event": "run.delta", "seq": 42, "data": <CloudEvent>}` frames, `seq` being the event's run-log sequence;
 * errors as `{"event": "error", "data": {code, message, field}}`.
 *
 * A frame `{"resumeFrom": <seq>}` (0: from the start of the tenant's replay window) replays the session's
 * events after that sequence, every turn, then follows new ones live until the socket closes or another
 * resume frame replaces it. While following, turns sent on the socket are delivered by the follower only, so
 * no event arrives twice. Authentication happens before the upgrade, so a bad key gets a plain HTTP 401.
 */
export class SessionSocketServer {
  private readonly wss: WebSocketServer;

  constructor(
    private readonly deps: {
      authenticator: Authenticator;
      denials: DenialLog;
      sessions: SessionStore;
      relay: TurnRelay;
      nats: NatsConnection;
      retention: RetentionPolicy;
      logger: MessagingLogger;
      maxPayload: number;
    },
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayload });
  }

  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(request, socket, head);
    });
  }

  close(): void {
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    this.wss.close();
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://gateway');
    const match = PATH.exec(url.pathname);
    try {
      if (!match) throw new KeelsonError(404, ErrorCodes.notFound, 'no such route');
      const sessionId = match[1]!;
      const { tenant, keyId } = await this.authenticate(request);
      if (!(await this.deps.sessions.get(tenant, sessionId))) {
        throw new KeelsonError(404, ErrorCodes.sessionNotFound, `no session "${sessionId}"`, 'sessionId');
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.serve(ws, tenant, sessionId, keyId));
    } catch (err) {
      const { status, body } = toErrorResponse(err);
      refuseUpgrade(socket, status, body);
    }
  }

  /** The same checks and denial audit as AuthGuard: a key or token with the `sessions` scope. */
  private async authenticate(request: IncomingMessage): Promise<{ tenant: string; keyId: string }> {
    const where = { source: request.socket.remoteAddress ?? 'unknown', method: 'GET', route: '/v1/sessions/:sessionId/ws' };
    try {
      const principal = await this.deps.authenticator.authenticate(request.headers.authorization);
      if (!hasScope(principal.scopes, Scopes.sessions)) {
        const message = `this ${principal.kind === 'jwt' ? 'token' : 'API key'} lacks the scope "${Scopes.sessions}"`;
        this.deps.denials.record({ ...where, reason: 'missing_scope', tenant: principal.tenant, keyId: principal.keyId, scope: Scopes.sessions, message });
        throw new KeelsonError(403, ErrorCodes.forbidden, message, Scopes.sessions);
      }
      return principal;
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      this.deps.denials.record({ ...where, reason: err.reason, tenant: err.known.tenant, keyId: err.known.keyId, message: err.message });
      throw new KeelsonError(401, ErrorCodes.unauthorized, err.message, 'Authorization');
    }
  }

  private serve(ws: WebSocket, tenant: string, sessionId: string, apiKeyId: string): void {
    const send = (event: string, data: unknown, seq?: number) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(seq === undefined ? { event, data } : { event, seq, data }));
    };
    /** The live follower started by the latest resume frame, if any. */
    let follower: AbortController | undefined;
    /** Turns relayed directly; a resume takes them over. */
    const relayed = new Set<() => void>();
    ws.once('close', () => {
      follower?.abort();
      for (const cancel of relayed) cancel();
    });

    const resume = async (resumeFrom: unknown) => {
      if (typeof resumeFrom !== 'number' || !Number.isSafeInteger(resumeFrom) || resumeFrom < 0) {
        throw new KeelsonError(400, ErrorCodes.validationFailed, 'resumeFrom must be the seq (a whole number) of an event you received', 'resumeFrom');
      }
      const filter = Subjects.sessionRuns(tenant, sessionId);
      const { nats, retention } = this.deps;
      const start = await resumePoint({ nats, retention, tenant, filter, value: String(resumeFrom), field: 'resumeFrom' });
      follower?.abort();
      const abort = new AbortController();
      follower = abort;
      for (const cancel of relayed) cancel();
      try {
        for await (const frame of readRunLog(nats, filter, start, abort.signal)) send(frame.name, frame.event, frame.seq);
      } finally {
        if (follower === abort) follower = undefined;
      }
    };

    ws.on('message', (raw, isBinary) => {
      void (async () => {
        try {
          if (isBinary) throw new KeelsonError(400, ErrorCodes.validationFailed, 'send text frames holding JSON', 'frame');
          let body: unknown;
          try {
            body = JSON.parse(raw.toString());
          } catch {
            throw new KeelsonError(400, ErrorCodes.invalidJson, 'the frame is not valid JSON', 'frame');
          }
          if (typeof body === 'object' && body !== null && 'resumeFrom' in body) {
            await resume(body.resumeFrom);
            return;
          }
          const { content, onBusy } = parseOrThrow(SendMessageRequestSchema, body);
          const turn = await this.deps.relay.send(tenant, sessionId, content, onBusy, apiKeyId);
          if (follower) return; // the follower delivers this turn's events
          relayed.add(turn.cancel);
          try {
            for await (const frame of turn.events) send(frame.name, frame.event, frame.seq);
          } finally {
            relayed.delete(turn.cancel);
          }
        } catch (err) {
          const { status, body } = toErrorResponse(err);
          if (status >= 500) this.deps.logger.error('websocket turn failed', { error: err });
          send('error', body.error);
        }
      })();
    });
  }
}

function refuseUpgrade(socket: Duplex, status: number, body: ErrorBody): void {
  const payload = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(payload)}\r\n` +
      'Connection: close\r\n\r\n' +
      payload,
  );
}
