/**
 * The process entry of every service: a start-up failure (bad configuration, NATS or Redis unreachable)
 * ends the process with one readable line and exit code 1, not an unhandled rejection's stack.
 */
export function runService(name: string, start: () => Promise<unknown>): Promise<void> {
  return start().then(
    () => undefined,
    (err: unknown) => {
      process.stderr.write(`${name} did not start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
