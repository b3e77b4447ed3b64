// One dev stack per data folder, and no orphans: children run in their own process groups (see
// supervisor.mjs), so if a previous supervisor was SIGKILLed they outlive it and would hold the ports.
// Their pid files in .keelson/run/ let the next run stop them first.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from './ui.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** True for a running process; a zombie (dead, not yet reaped by init) counts as gone. */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

/** The command line of a pid, so we never signal an unrelated process that reused the number. */
export function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    } catch {
      return '';
    }
  }
}

const signalGroup = (pid, sig) => {
  try {
    process.kill(-pid, sig);
  } catch {
    /* gone */
  }
};

/** SIGTERM to all, up to 5s grace, then SIGKILL: the same courtesy a clean shutdown gives. */
async function stopLeftovers(list, log) {
  if (!list.length) return;
  for (const { pid, name } of list) {
    log(`stopping ${name} (pid ${pid}) left over from an earlier run`);
    signalGroup(pid, 'SIGTERM');
  }
  for (let i = 0; i < 50 && list.some((l) => isAlive(l.pid)); i++) await sleep(100);
  list.filter((l) => isAlive(l.pid)).forEach((l) => signalGroup(l.pid, 'SIGKILL'));
}

/** Takes the run folder for this process; returns a function that gives it back. */
export async function claimRunDir(runDir, log) {
  mkdirSync(runDir, { recursive: true });
  const lock = join(runDir, 'supervisor.pid');
  const read = (file) => {
    try {
      return readFileSync(join(runDir, file), 'utf8');
    } catch {
      return '';
    }
  };
  const other = Number(read('supervisor.pid'));
  if (other && other !== process.pid && isAlive(other) && commandOf(other).includes('main.mjs'))
    throw new StackError(`Another dev stack is already running (pid ${other}). Stop it first (Ctrl-C in its terminal, or \`kill ${other}\`).`);
  const leftovers = [];
  for (const file of readdirSync(runDir).filter((f) => f.endsWith('.pid') && f !== 'supervisor.pid')) {
    try {
      const { pid, match } = JSON.parse(read(file));
      if (pid && match && isAlive(pid) && commandOf(pid).includes(match)) leftovers.push({ pid, name: file.slice(0, -4) });
    } catch {
      /* unreadable pid file: nothing we can safely stop */
    }
    rmSync(join(runDir, file), { force: true });
  }
  // Services before the servers they talk to, as in a normal shutdown.
  const infra = (l) => ['nats', 'redis'].includes(l.name);
  await stopLeftovers(leftovers.filter((l) => !infra(l)), log);
  await stopLeftovers(leftovers.filter(infra), log);
  writeFileSync(lock, String(process.pid));
  return () => {
    if (Number(read('supervisor.pid')) === process.pid) rmSync(lock, { force: true });
  };
}
