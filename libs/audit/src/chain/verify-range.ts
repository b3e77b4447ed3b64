import { GENESIS_HASH, type AuditBreak, type AuditRecord, type AuditVerifyRange, type AuditVerifyResult } from '@keelson/contracts';
import type { AuditRange, AuditStore } from '../store/audit-store';
import { recordHash } from './record-hash';

/**
 * Walks a tenant's chain over a range (the whole chain when the range is empty) in seq order, a page at a
 * time, and reports the first break: a missing seq (`gap`), a record whose content no longer matches its
 * hash (`hash_mismatch`), or one whose prevHash is not its predecessor's hash (`prev_mismatch`).
 */
export async function verifyRange(store: AuditStore, tenant: string, range: AuditVerifyRange = {}, pageSize = 500): Promise<AuditVerifyResult> {
  const result: AuditVerifyResult = { ok: true, checked: 0 };
  let prev: AuditRecord | undefined;
  const fail = (b: AuditBreak): AuditVerifyResult => ({ ...result, ok: false, break: b });

  for await (const record of walk(store, tenant, range, pageSize)) {
    if (prev === undefined) {
      const start = await startOf(store, tenant, record);
      if (start.gap) return fail(start.gap);
      prev = start.prev;
    }
    if (prev !== undefined && record.seq !== prev.seq + 1) {
      return fail({ seq: prev.seq + 1, reason: 'gap', message: `seq ${prev.seq + 1} is missing: seq ${prev.seq} is followed by ${record.seq}` });
    }
    result.checked++;
    result.firstSeq ??= record.seq;
    const recomputed = recordHash(record);
    if (recomputed !== record.hash) {
      return fail({ seq: record.seq, id: record.id, reason: 'hash_mismatch', message: `record ${record.seq} changed after it was stored: its content hashes to ${recomputed}, its stored hash is ${record.hash}` });
    }
    if (prev !== undefined && record.prevHash !== prev.hash) {
      return fail({ seq: record.seq, id: record.id, reason: 'prev_mismatch', message: `record ${record.seq}'s prevHash ${record.prevHash} is not ${prev.seq === 0 ? 'the genesis hash' : `record ${prev.seq}'s hash ${prev.hash}`}: one of them was changed or replaced` });
    }
    result.lastSeq = record.seq;
    result.lastHash = record.hash;
    prev = record;
  }
  return result;
}

/** How the range's first record links back: to its stored predecessor, to genesis (seq 1), or to nothing. */
async function startOf(store: AuditStore, tenant: string, first: AuditRecord): Promise<{ prev?: AuditRecord; gap?: AuditBreak }> {
  if (first.seq === 1) return { prev: { seq: 0, hash: GENESIS_HASH } as AuditRecord };
  const [before] = await store.readRange(tenant, { fromSeq: first.seq - 1, toSeq: first.seq - 1 }, 1);
  if (before) return { prev: before };
  // The predecessor is gone. Retention purges only a prefix of a chain, so when an older record survives the
  // predecessor was removed some other way; otherwise it was purged and the first record's prevHash is trusted.
  const [older] = await store.readRange(tenant, { toSeq: first.seq - 1 }, 1);
  if (older) return { gap: { seq: first.seq - 1, reason: 'gap', message: `seq ${first.seq - 1} is missing although the older seq ${older.seq} is stored` } };
  return {};
}

/**
 * The records of the range in seq order. A time range selects by event time, which need not grow with seq
 * (publishers' clocks differ), so the seqs between two selected records are read too: they are links of the
 * same chain, and only a seq that is missing from the store is a gap.
 */
async function* walk(store: AuditStore, tenant: string, range: AuditVerifyRange, pageSize: number): AsyncGenerator<AuditRecord> {
  const timed = range.from !== undefined || range.to !== undefined;
  let after = (range.fromSeq ?? 1) - 1;
  for (;;) {
    const query: AuditRange = { ...range, fromSeq: after + 1 };
    const page = await store.readRange(tenant, query, pageSize);
    for (const record of page) {
      if (timed && after >= (range.fromSeq ?? 1) && record.seq > after + 1) {
        yield* between(store, tenant, after + 1, record.seq - 1, pageSize);
      }
      yield record;
      after = record.seq;
    }
    if (page.length < pageSize) return;
  }
}

async function* between(store: AuditStore, tenant: string, fromSeq: number, toSeq: number, pageSize: number): AsyncGenerator<AuditRecord> {
  for (let next = fromSeq; next <= toSeq; ) {
    const page = await store.readRange(tenant, { fromSeq: next, toSeq }, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    next = page[page.length - 1]!.seq + 1;
  }
}
