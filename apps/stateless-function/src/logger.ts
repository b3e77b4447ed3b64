/** What the function logs through: one JSON line per entry on stdout (CloudWatch Logs keeps them). */
export interface FunctionLogger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  /** A record that must not be lost to the log level (usage records without NATS): written whatever LOG_LEVEL says. */
  record(message: string, meta: Record<string, unknown>): void;
}

const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
export type FunctionLogLevel = keyof typeof LEVELS;

/**
 * A JSON-line logger without dependencies (the services' winston logger costs cold-start time): level,
 * time, message, then the fields. Lambda adds its request id to every line of the invocation.
 */
export function jsonLineLogger(level: FunctionLogLevel, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): FunctionLogger {
  const line = (name: FunctionLogLevel, message: string, meta: Record<string, unknown>): void =>
    write(JSON.stringify({ level: name, time: new Date().toISOString(), service: 'stateless-function', message, ...meta }));
  const at =
    (name: FunctionLogLevel) =>
    (message: string, meta: Record<string, unknown> = {}): void => {
      if (LEVELS[name] <= LEVELS[level]) line(name, message, meta);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), record: (message, meta) => line('info', message, meta) };
}
