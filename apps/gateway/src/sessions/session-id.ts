import { ErrorCodes, KeelsonError, RESOURCE_ID_PATTERN } from '@keelson/contracts';

/** An id that cannot exist is answered like an unknown one: 404, naming the path parameter. */
export function requireResourceId(id: string, code: typeof ErrorCodes.sessionNotFound | typeof ErrorCodes.taskNotFound, field: string): string {
  if (!RESOURCE_ID_PATTERN.test(id)) throw new KeelsonError(404, code, `no ${field.replace(/Id$/, '')} "${id}"`, field);
  return id;
}
