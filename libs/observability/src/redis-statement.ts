/**
 * `db.query.text` for a Redis command span without values. The instrumentation's default serializer writes
 * every argument of EVAL/EVALSHA, and our scripts take message text, run outcomes and task results as
 * arguments, so a conversation would end up in the trace. Here a span shows the command and its keys only:
 * for a script, its sha (or `[script]`), numkeys and keys; for any other command, its first argument (the
 * key, or a subcommand); the rest is counted, never written. AUTH and HELLO show no arguments at all.
 */
export function redisStatement(command: string, args: ReadonlyArray<string | Buffer>): string {
  const name = command.toUpperCase();
  let shown: string[];
  if (/^(EVAL|EVALSHA|EVAL_RO|EVALSHA_RO|FCALL|FCALL_RO)$/.test(name)) {
    const numKeys = Number(String(args[1] ?? '0'));
    const keys = Number.isInteger(numKeys) && numKeys >= 0 ? args.slice(2, 2 + numKeys).map(String) : [];
    shown = [name.startsWith('EVAL') && !name.startsWith('EVALSHA') ? '[script]' : String(args[0] ?? ''), String(args[1] ?? ''), ...keys];
  } else if (/^(AUTH|HELLO|ECHO|MIGRATE)$/.test(name)) shown = [];
  else shown = args.slice(0, 1).map(String);
  const rest = args.length - Math.min(shown.length, args.length);
  return [command, ...shown, ...(rest > 0 ? [`[${rest} other arguments]`] : [])].join(' ');
}
