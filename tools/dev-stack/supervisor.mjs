// Runs child processes, tees their output to a log file (and optionally the console), restarts the ones
// that die, and stops them all on request. Each child gets its own process group (detached) so that a
// Ctrl-C in the terminal reaches only the supervisor, which then stops services before the infra they use.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { PALETTE, paint, warn } from './ui.mjs';

/** Restart delay for the n-th consecutive crash (0-based): 1s, 2s, 4s … capped. */
export const backoffMs = (attempt, baseMs = 1000, maxMs = 30_000) => Math.min(maxMs, baseMs * 2 ** attempt);

export const describeExit = (code, signal) => (signal ? `killed by ${signal}` : `exit code ${code}`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

/** Sends a signal to a child's whole process group; a group that is already gone is fine. */
function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already exited */
    }
  }
}

export class Supervisor {
  #entries = new Map();
  #closed = false;
  #colourIndex = 0;

  /**
   * @param {object} o
   * @param {boolean} [o.echo] copy child output to the console, prefixed with the child's name
   * @param {string} [o.pidDir] where to write <name>.pid files, so a later run can clean up after a crash
   * @param {number} [o.baseMs] @param {number} [o.maxMs] @param {number} [o.resetAfterMs] restart policy
   * @param {(msg: string) => void} [o.alert] where restart notices go
   */
  constructor({ echo = true, pidDir, baseMs = 1000, maxMs = 30_000, resetAfterMs = 60_000, prefixWidth = 14, alert = warn } = {}) {
    Object.assign(this, { echo, pidDir, baseMs, maxMs, resetAfterMs, prefixWidth, alert });
  }

  /** spec: { name, command, args, cwd?, env?, logFile, echo?, match? (what `ps` shows, for stale cleanup) } */
  start(spec) {
    if (this.#closed) return;
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const entry = {
      spec,
      attempt: 0,
      starts: 0,
      tail: [],
      out: createWriteStream(spec.logFile, { flags: 'a' }),
      colour: PALETTE[this.#colourIndex++ % PALETTE.length],
      waiters: [],
    };
    this.#entries.set(spec.name, entry);
    this.#spawn(entry);
  }

  #spawn(entry) {
    if (this.#closed) return;
    const { spec } = entry;
    const child = spawn(spec.command, spec.args ?? [], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    entry.child = child;
    entry.startedAt = Date.now();
    entry.starts++;
    const onLine = (line) => {
      entry.out.write(`${line}\n`);
      entry.tail.push(line);
      if (entry.tail.length > 20) entry.tail.shift();
      if (this.echo && spec.echo !== false) console.log(`${paint(entry.colour, spec.name.padEnd(this.prefixWidth))} | ${line}`);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    if (this.pidDir && child.pid) {
      mkdirSync(this.pidDir, { recursive: true });
      writeFileSync(this.#pidFile(spec.name), JSON.stringify({ pid: child.pid, match: spec.match ?? spec.command }));
    }
    let done = false;
    const finished = (code, signal) => {
      if (done) return; // 'error' and 'exit' can both fire for one child
      done = true;
      this.#onExit(entry, code, signal);
    };
    child.on('exit', finished);
    child.on('error', (err) => {
      onLine(`[keelson] could not run ${spec.command}: ${err.message}`);
      finished(null, null);
    });
  }

  #pidFile(name) {
    return join(this.pidDir, `${name}.pid`);
  }

  #onExit(entry, code, signal) {
    entry.child = null;
    entry.lastExit = { code, signal };
    if (this.pidDir) rmSync(this.#pidFile(entry.spec.name), { force: true });
    entry.waiters.splice(0).forEach((resolve) => resolve());
    if (this.#closed) return;
    // A service that stayed up a while and then died is a fresh incident, not part of a crash loop.
    if (Date.now() - entry.startedAt >= this.resetAfterMs) entry.attempt = 0;
    const delay = backoffMs(entry.attempt++, this.baseMs, this.maxMs);
    this.alert(`${entry.spec.name} died (${describeExit(code, signal)}); restarting in ${delay / 1000}s`);
    entry.timer = setTimeout(() => this.#spawn(entry), delay);
  }

  /** Last output lines of a child, for "why is it not ready" reports. */
  tail(name, n = 10) {
    return this.#entries.get(name)?.tail.slice(-n) ?? [];
  }

  stats(name) {
    const e = this.#entries.get(name);
    return e && { starts: e.starts, running: Boolean(e.child), pid: e.child?.pid, lastExit: e.lastExit };
  }

  /** No new spawns or restarts from now on. */
  close() {
    this.#closed = true;
    for (const e of this.#entries.values()) clearTimeout(e.timer);
  }

  /** SIGTERM to every child, SIGKILL to those still running after timeoutMs. */
  async stop(timeoutMs = 15_000) {
    this.close();
    const live = [...this.#entries.values()].filter((e) => e.child);
    const exited = live.map((e) => new Promise((resolve) => e.waiters.push(resolve)));
    live.forEach((e) => signalGroup(e.child.pid, 'SIGTERM'));
    const all = Promise.all(exited);
    if ((await Promise.race([all.then(() => true), sleep(timeoutMs).then(() => false)])) === false) {
      for (const e of live.filter((x) => x.child)) {
        this.alert(`${e.spec.name} did not stop within ${timeoutMs / 1000}s; killing it`);
        signalGroup(e.child.pid, 'SIGKILL');
      }
      await Promise.race([all, sleep(2000)]);
    }
    await Promise.all([...this.#entries.values()].map((e) => new Promise((r) => e.out.end(r))));
  }

  /** Immediate SIGKILL to everything (second Ctrl-C). Synchronous, so it can run right before exit. */
  kill() {
    this.close();
    for (const e of this.#entries.values()) if (e.child) signalGroup(e.child.pid, 'SIGKILL');
  }
}
