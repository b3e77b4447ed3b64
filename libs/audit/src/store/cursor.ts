/** A cursor that is not one this store handed out (status 400, code `invalid_cursor`, field `cursor`). */
export class InvalidCursorError extends Error {
  readonly status = 400;
  readonly code = 'invalid_cursor';
  readonly field = 'cursor';
  constructor(message = 'cursor is not the nextCursor of a previous page') {
    super(message);
    this.name = 'InvalidCursorError';
  }
}

/** Opaque to callers: base64url of the last seq returned, so a page resumes after it. */
export function encodeCursor(seq: number): string {
  return Buffer.from(String(seq), 'utf8').toString('base64url');
}

/** The seq after which the next page starts; 0 without a cursor. */
export function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidCursorError();
  return Number(text);
}
