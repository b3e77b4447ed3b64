import { ErrorCodes, KeelsonError, type ErrorCode, type MemoryErrorCode } from '@keelson/contracts';

/**
 * A KeelsonError with one of the memory codes. KeelsonError's type knows only ErrorCodes; the memory codes
 * live in their own contracts file (MemoryErrorCodes) until they are merged, hence the one cast here.
 */
export function memoryError(status: number, code: MemoryErrorCode | ErrorCode, message: string, field?: string): KeelsonError {
  return new KeelsonError(status, code as ErrorCode, message, field);
}

export const invalid = (field: string, message: string): KeelsonError =>
  new KeelsonError(400, ErrorCodes.validationFailed, `${field}: ${message}`, field);
