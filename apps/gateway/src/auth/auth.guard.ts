import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCodes, KeelsonError, hasScope } from '@keelson/contracts';
import { AuthError, Authenticator, type Principal } from '@keelson/identity';
import type { FastifyRequest } from 'fastify';
import { DenialLog } from './denial-log';
import { SCOPE_METADATA } from './scopes';

type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/**
 * Authenticates every request of the routes it guards (API key or OIDC token, see @keelson/identity), then
 * checks the route's scope (@RequireScope). Every refusal is a 401 or 403 with the usual error body and an
 * `auth.denied` audit event.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Authenticator) private readonly authenticator: Authenticator,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(DenialLog) private readonly denials: DenialLog,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const where = { source: request.ip, method: request.method, route: request.routeOptions?.url ?? 'unmatched' };
    let principal: Principal;
    try {
      principal = await this.authenticator.authenticate(request.headers.authorization);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      this.denials.record({ ...where, reason: err.reason, tenant: err.known.tenant, keyId: err.known.keyId, message: err.message });
      throw new KeelsonError(401, ErrorCodes.unauthorized, err.message, 'Authorization');
    }
    request.principal = principal;
    const scope = this.reflector.getAllAndOverride<string | undefined>(SCOPE_METADATA, [context.getHandler(), context.getClass()]);
    if (scope && !hasScope(principal.scopes, scope)) {
      const message = `this ${principal.kind === 'jwt' ? 'token' : 'API key'} lacks the scope "${scope}"`;
      this.denials.record({ ...where, reason: 'missing_scope', tenant: principal.tenant, keyId: principal.keyId, scope, message });
      throw new KeelsonError(403, ErrorCodes.forbidden, message, scope);
    }
    return true;
  }
}

function principalOf(context: ExecutionContext, what: string): Principal {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error(`${what} used on a route without AuthGuard`);
  return principal;
}

/** The id of the API key (or `jwt:{sub}`) the caller authenticated with: its budgets and limits apply to what it spends. */
export const ApiKeyId = createParamDecorator((_: unknown, context: ExecutionContext): string => principalOf(context, 'ApiKeyId').keyId);

/** The caller as authenticated: kind, key id, tenant, scopes. */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): Principal => principalOf(context, 'Caller'));

/** The tenant of the authenticated caller; every resource lookup is scoped by it. */
export const Tenant = createParamDecorator((_: unknown, context: ExecutionContext): string => principalOf(context, 'Tenant').tenant);
