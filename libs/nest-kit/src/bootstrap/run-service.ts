import type { MessagingLogger } from '@keelson/messaging';
import { assertNoSecretsInEnv } from '@keelson/secrets';

export interface RunServiceOptions {
  /** Checked for secrets before anything starts; default process.env. */
  env?: Record<string, string | undefined>;
  /** Where the non-production warnings go (one line per variable); default stderr, one JSON line each. */
  logger?: MessagingLogger;
}

/**
 * The process entry of every service: a start-up failure (bad configuration, NATS or Redis unreachable)
 * ends the process with one readable line and exit code 1, not an unhandled rejection's stack.
 *
 * Before anything is loaded or connected it runs the secrets check (docs/secrets.md): in production
 * (NODE_ENV or KEELSON_ENV = production) an environment that carries a secret (`OPENAI_API_KEY=...`, a URL
 * with a password, a value shaped like a key) ends the process here, naming the variables and never their
 * values; elsewhere each such variable is warned about once.
 */
export function runService(name: string, start: () => Promise<unknown>, options: RunServiceOptions = {}): Promise<void> {
  const fail = (err: unknown): void => {
    process.stderr.write(`${name} did not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  };
  try {
    const warn = options.logger ? (msg: string) => options.logger!.warn(msg, { service: name }) : (msg: string) => stderrWarning(name, msg);
    for (const warning of assertNoSecretsInEnv(options.env ?? process.env)) warn(warning);
  } catch (err) {
    fail(err);
    return Promise.resolve();
  }
  return start().then(() => undefined, fail);
}

/** The service's logger does not exist yet (the check runs first): the same JSON line shape, on stderr. */
function stderrWarning(service: string, msg: string): void {
  process.stderr.write(`${JSON.stringify({ level: 'warn', msg, service, timestamp: new Date().toISOString() })}\n`);
}
