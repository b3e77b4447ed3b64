import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import type { FastifyRequest } from 'fastify';
import { ApiKeys, type Principal } from './api-keys';
import { authenticate } from './authenticate';

type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(@Inject(ApiKeys) private readonly keys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.principal = authenticate(this.keys, request.headers.authorization);
    return true;
  }
}

/** The id of the API key the caller authenticated with: its budgets and limits apply to what it spends. */
export const ApiKeyId = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('ApiKeyId used on a route without AuthGuard');
  return principal.keyId;
});

/** The scopes of the caller's key (`*` is every scope). */
export const CallerScopes = createParamDecorator((_: unknown, context: ExecutionContext): readonly string[] => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CallerScopes used on a route without AuthGuard');
  return principal.scopes;
});

/** 403 `forbidden` naming the scope, unless the key has it (or `*`). */
export function requireScope(scopes: readonly string[], scope: string): void {
  if (scopes.includes('*') || scopes.includes(scope)) return;
  throw new KeelsonError(403, ErrorCodes.forbidden, `this API key lacks the scope "${scope}"`, scope);
}

/** The tenant of the authenticated caller; every resource lookup is scoped by it. */
export const Tenant = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('Tenant used on a route without AuthGuard');
  return principal.tenant;
});
