import type { LoggerService } from '@nestjs/common';
import type { MessagingLogger } from '@keelson/messaging';

/** Routes Nest's own log lines into the service's structured JSON logger. */
export class NestLogger implements LoggerService {
  constructor(private readonly logger: MessagingLogger) {}

  log(message: unknown, context?: string): void {
    this.logger.info(String(message), context ? { context } : undefined);
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error(String(message), { context, trace });
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn(String(message), context ? { context } : undefined);
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
  verbose(message: unknown, context?: string): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
}
