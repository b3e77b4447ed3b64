/** The logging this library needs; a Nest logger, winston or console fit it through a small adapter. */
export interface MessagingLogger {
  debug(msg: string, meta?: object): void;
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}

/** Used when no logger is given: warnings and errors go to stderr as one JSON line each, the rest is dropped. */
export const stderrLogger: MessagingLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (msg, meta) => writeLine('warn', msg, meta),
  error: (msg, meta) => writeLine('error', msg, meta),
};

export const silentLogger: MessagingLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function writeLine(level: string, msg: string, meta?: object): void {
  process.stderr.write(`${JSON.stringify({ level, msg, lib: '@keelson/messaging', ...meta })}\n`);
}

/** An error as log metadata: message, name and code, without a stack unless it is unexpected. */
export function errorMeta(err: unknown): { error: string; errorName?: string; errorCode?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { error: err.message, errorName: err.name, ...(typeof code === 'string' ? { errorCode: code } : {}) };
  }
  return { error: String(err) };
}
