import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { runWithTenant } from '@keelson/observability';
import { Observable } from 'rxjs';
import type { Principal } from './api-keys';

/** Runs an authenticated request's handler inside its tenant's context, so every log line names the tenant. */
@Injectable()
export class TenantContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tenant = context.switchToHttp().getRequest<{ principal?: Principal }>().principal?.tenant;
    if (!tenant) return next.handle();
    return new Observable((subscriber) => runWithTenant(tenant, () => next.handle().subscribe(subscriber)));
  }
}
