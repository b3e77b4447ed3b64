import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SecretError, asSecretError } from '../errors';
import { Secret } from '../secret';
import type { SecretRef } from '../secret-ref';
import type { SecretSource, SecretValue } from '../secret-source';

export interface FileSecretSourceOptions {
  /**
   * A file others may read (mode o+r). Default `warn`: Kubernetes mounts secrets 0644 and Docker 0444
   * unless told otherwise, so refusing by default would break the platforms' defaults; set `defaultMode:
   * 0400` (Kubernetes) or `mode: 0400` (Compose) and switch this to `refuse` to enforce it.
   */
  worldReadable?: 'warn' | 'refuse' | 'allow';
  /** Receives warnings (a world-readable file), once per path. Default: process.emitWarning. */
  onWarning?: (message: string) => void;
}

/**
 * Secrets in files the platform mounts: Kubernetes secret volumes, Docker/Compose secrets
 * (/run/secrets/<name>). One trailing newline is dropped (editors and `echo` add one); an empty file is an
 * error. Rotation: Kubernetes updates a secret volume by swapping the `..data` symlink in the mounted
 * directory atomically, so the directory is watched (not the file, whose inode the swap replaces) and a
 * change makes the registry re-read; the registry's periodic re-read covers missed events.
 */
export class FileSecretSource implements SecretSource {
  readonly name = 'file';
  readonly scheme = 'file' as const;
  private readonly warned = new Set<string>();
  private readonly watchers = new Map<string, { watcher: FSWatcher; listeners: Set<() => void> }>();

  constructor(private readonly options: FileSecretSourceOptions = {}) {}

  async get(ref: SecretRef): Promise<SecretValue> {
    const path = this.pathOf(ref);
    const fail = (code: string): SecretError =>
      new SecretError(code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : 'unreadable', `cannot read the secret file ${path}: ${code}`);
    try {
      const info = await stat(path);
      if (info.isDirectory()) throw fail('EISDIR');
      if (info.mode & 0o004) this.worldReadable(path);
      const text = await readFile(path, 'utf8');
      const value = text.replace(/\r?\n$/, '');
      if (!value.trim()) throw new SecretError('empty', `the secret file ${path} is empty`);
      return { secret: new Secret(value), version: `${info.ino}:${info.mtimeMs}:${info.size}` };
    } catch (err) {
      throw asSecretError(err, fail);
    }
  }

  watch(ref: SecretRef, changed: () => void): () => void {
    const dir = dirname(this.pathOf(ref));
    let entry = this.watchers.get(dir);
    if (!entry) {
      let watcher: FSWatcher;
      try {
        watcher = watch(dir, { persistent: false });
      } catch {
        return () => undefined; // no watch (directory gone, inotify limit): the periodic re-read still runs
      }
      const listeners = new Set<() => void>();
      watcher.on('change', () => listeners.forEach((l) => l()));
      watcher.on('error', () => this.unwatchDir(dir));
      entry = { watcher, listeners };
      this.watchers.set(dir, entry);
    }
    entry.listeners.add(changed);
    const current = entry;
    return () => {
      current.listeners.delete(changed);
      if (current.listeners.size === 0) this.unwatchDir(dir);
    };
  }

  async stop(): Promise<void> {
    for (const dir of [...this.watchers.keys()]) this.unwatchDir(dir);
  }

  private unwatchDir(dir: string): void {
    this.watchers.get(dir)?.watcher.close();
    this.watchers.delete(dir);
  }

  private worldReadable(path: string): void {
    const policy = this.options.worldReadable ?? 'warn';
    if (policy === 'allow') return;
    const message = `the secret file ${path} is readable by every user (mode o+r): mount it 0400 or 0440`;
    if (policy === 'refuse') throw new SecretError('insecure', message);
    if (this.warned.has(path)) return;
    this.warned.add(path);
    (this.options.onWarning ?? ((m: string) => process.emitWarning(m, 'KeelsonSecretsWarning')))(message);
  }

  private pathOf(ref: SecretRef): string {
    if (ref.scheme !== 'file') throw new SecretError('bad-ref', `the file source cannot read a ${ref.scheme} reference`);
    return ref.path;
  }
}
