import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { verifyRange } from '../chain/verify-range';
import { auditEvent, describeAuditStoreContract } from '../testing/audit-store-contract';
import { toStored } from './stored-record';
import { openSqliteAuditStore, SqliteAuditStore } from './sqlite-audit-store';

const dir = mkdtempSync(join(tmpdir(), 'keelson-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const paths = new WeakMap<object, string>();

describeAuditStoreContract('SqliteAuditStore', {
  async open(options) {
    const path = join(dir, `audit-${++files}.db`);
    const store = openSqliteAuditStore({ path, ...options });
    paths.set(store, path);
    return store;
  },
  async tamper(store, tenant, seq, mutate) {
    // A second connection, as someone with the file would: the row is rewritten consistently from the edit.
    const db = new Database(paths.get(store)!);
    try {
      const [record] = await store.readRange(tenant, { fromSeq: seq, toSeq: seq }, 1);
      mutate(record!);
      const { body, hash, fields } = toStored(record!);
      db.prepare(
        `UPDATE audit_records SET seq = ?, id = ?, type = ?, category = ?, actor = ?, time_ms = ?, trace_id = ?, session_id = ?,
         task_id = ?, run_id = ?, prev_hash = ?, hash = ?, body = ? WHERE tenant = ? AND seq = ?`,
      ).run(fields.seq, fields.id, fields.type, fields.category, fields.actor, fields.timeMs, fields.traceId, fields.sessionId,
        fields.taskId, fields.runId, fields.prevHash, hash, body, tenant, seq);
    } finally {
      db.close();
    }
  },
});

describe('SqliteAuditStore on disk', () => {
  const openFile = () => {
    const path = join(dir, `raw-${++files}.db`);
    return { path, store: openSqliteAuditStore({ path }) };
  };

  it('detects a change to the body, the hash column or an indexed column alone', async () => {
    for (const [column, value] of [
      ['body', `json_set(body, '$.data.tool', 'other')`],
      ['hash', `'${'d'.repeat(64)}'`],
      ['trace_id', `'${'c'.repeat(32)}'`],
      ['type', `'tool.result'`],
      ['actor', `'user:mallory'`],
      ['time_ms', 'time_ms + 1'],
    ]) {
      const { path, store } = openFile();
      await store.append([auditEvent('acme'), auditEvent('acme'), auditEvent('acme')]);
      const db = new Database(path);
      db.prepare(`UPDATE audit_records SET ${column} = ${value} WHERE tenant = 'acme' AND seq = 2`).run();
      db.close();
      const result = await verifyRange(store, 'acme');
      assert.deepEqual([result.break?.reason, result.break?.seq], ['hash_mismatch', 2], `a changed ${column} column is reported`);
      await store.close();
    }
  });

  it('importing the package does not load better-sqlite3 or mongoose', async () => {
    const { execFileSync } = await import('node:child_process');
    const index = join(__dirname, '..', 'index.js');
    const out = execFileSync(process.execPath, ['-e', `require(${JSON.stringify(index)}); console.log(Object.keys(require.cache).filter((k) => /better-sqlite3|mongoose/.test(k)).length)`]);
    assert.equal(out.toString().trim(), '0');
  });

  it('keeps one gapless chain when two processes append to the same file at once', async () => {
    const { path, store } = openFile();
    const { spawn } = await import('node:child_process');
    const script = `
      const { openSqliteAuditStore } = require(${JSON.stringify(join(__dirname, 'sqlite-audit-store.js'))});
      const store = openSqliteAuditStore({ path: process.argv[1] });
      (async () => {
        for (let i = 0; i < 100; i++) {
          await store.append([0, 1, 2].map((j) => ({ id: process.argv[2] + '-' + i + '-' + j, tenant: 'acme', type: 'tool.call',
            time: new Date().toISOString(), service: 'w', actor: { kind: 'service', id: 'w' }, data: { i }, refs: [] })));
        }
        await store.close();
      })();`;
    const run = (name: string) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', script, path, name], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${name} exited ${code}: ${err}`))));
      });
    await Promise.all([run('a'), run('b')]);
    const result = await verifyRange(store, 'acme');
    assert.deepEqual([result.ok, result.checked, result.firstSeq, result.lastSeq], [true, 600, 1, 600]);
    assert.ok(store instanceof SqliteAuditStore);
    await store.close();
  });
});
