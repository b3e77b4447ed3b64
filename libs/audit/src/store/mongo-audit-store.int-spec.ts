import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import mongoose from 'mongoose';
import { describeAuditStoreContract } from '../testing/audit-store-contract';
import { openMongoAuditStore } from './mongo-audit-store';
import { toStored } from './stored-record';

// Runs against a real MongoDB when MONGODB_URL is set; each store gets a database of its own, dropped after.
const url = process.env['MONGODB_URL'];
const dbNames = new WeakMap<object, string>();
const created: string[] = [];

async function withDb<T>(dbName: string, fn: (conn: mongoose.Connection) => Promise<T>): Promise<T> {
  const conn = await mongoose.createConnection(url!, { dbName }).asPromise();
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

after(async () => {
  for (const dbName of created) await withDb(dbName, (conn) => conn.dropDatabase());
});

describeAuditStoreContract(
  'MongoAuditStore (MongoDB at MONGODB_URL)',
  {
    async open(options) {
      const dbName = `keelson_audit_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      created.push(dbName);
      const store = await openMongoAuditStore({ url: url!, dbName, ...options });
      dbNames.set(store, dbName);
      return store;
    },
    async tamper(store, tenant, seq, mutate) {
      const [record] = await store.readRange(tenant, { fromSeq: seq, toSeq: seq }, 1);
      mutate(record!);
      const { body, hash, fields } = toStored(record!);
      const { id, traceId, sessionId, taskId, runId, ...rest } = fields;
      const optional = { traceId, sessionId, taskId, runId };
      const set: Record<string, unknown> = { ...rest, eventId: id, body, hash };
      const unset: Record<string, ''> = {};
      for (const [key, value] of Object.entries(optional)) {
        if (value === null) unset[key] = '';
        else set[key] = value;
      }
      await withDb(dbNames.get(store)!, (conn) =>
        conn.collection('audit_records').updateOne({ tenant, seq }, Object.keys(unset).length ? { $set: set, $unset: unset } : { $set: set }),
      );
    },
  },
  url ? {} : { skip: 'MONGODB_URL not set: no MongoDB server to run the AuditStore contract against' },
);
