import { SetMetadata } from '@nestjs/common';
import type { Scope } from '@keelson/contracts';

export const SCOPE_METADATA = 'keelson:scope';

/** The scope a route (or every route of a controller) needs; AuthGuard refuses 403 without it. */
export const RequireScope = (scope: Scope): ClassDecorator & MethodDecorator => SetMetadata(SCOPE_METADATA, scope);
