import { LOG_LEVELS, type LogLevel } from '@keelson/config';
import { createLogger as createWinstonLogger, format, transports, type Logger as WinstonLogger } from 'winston';
import { jsonLine } from './json-line';
import { scrubDeep, scrubText } from './pii-scrub';
import { tenantFormat, traceContextFormat } from './trace-format';

/** Scrubs the message and the meta (`fields`) of a line; see LoggerOptions.scrubPii. */
const piiFormat = format((info) => {
  if (typeof info.message === 'string') info.message = scrubText(info.message);
  if (info['fields'] !== undefined) info['fields'] = scrubDeep(info['fields']);
  return info;
});

/** What Keelson code logs through; structurally the `{debug,info,warn,error}(msg, meta?)` shape others accept. */
export interface Logger {
  error(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  info(msg: string, meta?: object): void;
  debug(msg: string, meta?: object): void;
  /** Changes the level at run time, for this logger and every child of it (they share one output). */
  setLevel(level: string): void;
  readonly level: LogLevel;
  /** A logger that adds `bindings` to every line, e.g. `{ component: 'task-worker' }`. */
  child(bindings: object): Logger;
}

export interface LoggerOptions {
  service: string;
  /** error | warn | info | debug; default info. */
  level?: string;
  /** Where JSON lines go; default stdout. Tests pass a stream they can read. */
  destination?: NodeJS.WritableStream;
  /**
   * Scrub PII and secrets from the message and every string in the meta before the line is written (guard's
   * output filter, IP addresses kept). Default true; the fixed fields (time, level, ids) are never touched.
   */
  scrubPii?: boolean;
}

const LEVEL_PRIORITIES: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function checkedLevel(level: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new RangeError(`unknown log level "${level}": expected one of ${LOG_LEVELS.join(', ')}`);
}

export function createLogger(opts: LoggerOptions): Logger {
  const winston = createWinstonLogger({
    levels: LEVEL_PRIORITIES,
    level: checkedLevel(opts.level ?? 'info'),
    defaultMeta: { service: opts.service },
    format: format.combine(format.timestamp(), traceContextFormat(), tenantFormat(), ...(opts.scrubPii === false ? [] : [piiFormat()]), jsonLine()),
    transports: [new transports.Stream({ stream: opts.destination ?? process.stdout })],
  });
  return wrap(winston, {});
}

function wrap(winston: WinstonLogger, bindings: object): Logger {
  // Meta goes in as one `fields` value rather than merged into the info object, which winston would do with
  // quirks of its own (it appends a meta `message` to the log message, and loses an Error's stack).
  const log = (level: LogLevel) => (msg: string, meta?: object) => {
    if (!winston.isLevelEnabled(level)) return;
    const fields = meta instanceof Error ? { ...bindings, err: meta } : { ...bindings, ...meta };
    winston.log({ level, message: msg, fields });
  };
  return {
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    setLevel: (level) => {
      winston.level = checkedLevel(level);
    },
    get level() {
      return winston.level as LogLevel;
    },
    child: (more) => wrap(winston, { ...bindings, ...more }),
  };
}
