import type { AuditRecord } from '@keelson/contracts';

export interface KeyInfo {
  id: string;
  name?: string;
  status?: string;
  source?: string;
}

export interface Unusual {
  kind: 'new_source' | 'spike' | 'denial_burst';
  at: string;
  detail: string;
}

export interface KeyAccess {
  keyId: string;
  name?: string | undefined;
  status?: string | undefined;
  calls: number;
  errors: number;
  denials: number;
  denialsByReason: Record<string, number>;
  routes: Array<{ route: string; calls: number; errors: number }>;
  sources: Array<{ address: string; calls: number; new: boolean }>;
  activeMinutes: number;
  busiestMinute?: { minute: string; calls: number } | undefined;
  unusual: Unusual[];
}

export interface AccessReview {
  tenant: string;
  from: string;
  to: string;
  generatedAt: string;
  keys: KeyAccess[];
  denials: { total: number; byReason: Record<string, number> };
  keyChanges: Array<{ at: string; type: string; keyId: string; by: string }>;
  /** True when more audit records matched than one review reads; narrow the range. */
  truncated: boolean;
}

/** A minute counts as a spike above this many calls and this multiple of the key's median busy minute. */
export const SPIKE_MIN_CALLS = 60;
export const SPIKE_FACTOR = 5;
/** Denials of one key in one minute that count as a burst. */
export const DENIAL_BURST = 10;

type Access = { minute: string; calls: number; errors: number; routes: Array<{ route: string; calls: number; errors: number }>; sources: Array<{ address: string; calls: number }> };

/**
 * The access review of one tenant over [from, to): per key (or token subject) the calls by route, errors,
 * denials by reason and source addresses, from `auth.access` and `auth.denied` audit events; unusual activity
 * (an address the key had not used in the equally long period before, a minute far above the key's median,
 * a burst of denials); and every key created, rotated or revoked. Built from the audit trail only, so it is
 * as trustworthy as the chain `GET /v1/audit/verify` checks.
 */
export function buildAccessReview(input: {
  tenant: string;
  from: Date;
  to: Date;
  events: AuditRecord[];
  /** `auth.access` events of the period before `from`, for "new source address". */
  before: AuditRecord[];
  keys: KeyInfo[];
  truncated: boolean;
  now?: Date;
}): AccessReview {
  const byKey = new Map<string, KeyAccess & { perMinute: Map<string, number>; deniedPerMinute: Map<string, number>; firstSeen: Map<string, string> }>();
  const info = new Map(input.keys.map((k) => [k.id, k]));
  const entry = (keyId: string) => {
    let e = byKey.get(keyId);
    if (!e) {
      const k = info.get(keyId);
      e = {
        keyId,
        name: k?.name,
        status: k?.status,
        calls: 0,
        errors: 0,
        denials: 0,
        denialsByReason: {},
        routes: [],
        sources: [],
        activeMinutes: 0,
        unusual: [],
        perMinute: new Map(),
        deniedPerMinute: new Map(),
        firstSeen: new Map(),
      };
      byKey.set(keyId, e);
    }
    return e;
  };
  const priorSources = new Map<string, Set<string>>();
  for (const r of input.before) {
    const data = r.data as Partial<Access>;
    const set = priorSources.get(keyOf(r)) ?? new Set<string>();
    for (const s of data.sources ?? []) set.add(s.address);
    priorSources.set(keyOf(r), set);
  }

  const denials = { total: 0, byReason: {} as Record<string, number> };
  const keyChanges: AccessReview['keyChanges'] = [];
  const routes = new Map<string, Map<string, { calls: number; errors: number }>>();
  const sources = new Map<string, Map<string, number>>();
  for (const r of input.events) {
    if (r.type === 'auth.access') {
      const data = r.data as Partial<Access>;
      const e = entry(keyOf(r));
      const minute = data.minute ?? r.time;
      e.calls += data.calls ?? 0;
      e.errors += data.errors ?? 0;
      e.perMinute.set(minute, (e.perMinute.get(minute) ?? 0) + (data.calls ?? 0));
      const rmap = routes.get(e.keyId) ?? new Map();
      for (const rt of data.routes ?? []) {
        const c = rmap.get(rt.route) ?? { calls: 0, errors: 0 };
        c.calls += rt.calls;
        c.errors += rt.errors;
        rmap.set(rt.route, c);
      }
      routes.set(e.keyId, rmap);
      const smap = sources.get(e.keyId) ?? new Map();
      for (const s of data.sources ?? []) {
        smap.set(s.address, (smap.get(s.address) ?? 0) + s.calls);
        if (!e.firstSeen.has(s.address)) e.firstSeen.set(s.address, minute);
      }
      sources.set(e.keyId, smap);
    } else if (r.type === 'auth.denied') {
      const reason = String(r.data['reason'] ?? 'unknown');
      const count = 1 + Number(r.data['suppressedBefore'] ?? 0);
      denials.total += count;
      denials.byReason[reason] = (denials.byReason[reason] ?? 0) + count;
      const e = entry(keyOf(r));
      e.denials += count;
      e.denialsByReason[reason] = (e.denialsByReason[reason] ?? 0) + count;
      const minute = r.time.slice(0, 16);
      e.deniedPerMinute.set(minute, (e.deniedPerMinute.get(minute) ?? 0) + count);
    } else if (r.type.startsWith('admin.key_')) {
      keyChanges.push({ at: r.time, type: r.type, keyId: String(r.data['keyId'] ?? ''), by: `${r.actor.kind}:${r.actor.id}` });
    }
  }

  const keys = [...byKey.values()].map(({ perMinute, deniedPerMinute, firstSeen, ...e }) => {
    e.routes = [...(routes.get(e.keyId) ?? [])].map(([route, c]) => ({ route, ...c })).sort((a, b) => b.calls - a.calls);
    const prior = priorSources.get(e.keyId) ?? new Set<string>();
    e.sources = [...(sources.get(e.keyId) ?? [])].map(([address, calls]) => ({ address, calls, new: !prior.has(address) })).sort((a, b) => b.calls - a.calls);
    // A key with no history before the period has nothing to compare with: its addresses are not "new".
    if (prior.size > 0) {
      for (const s of e.sources) if (s.new) e.unusual.push({ kind: 'new_source', at: firstSeen.get(s.address)!, detail: `first call from ${s.address}` });
    }
    e.activeMinutes = perMinute.size;
    const counts = [...perMinute.values()].sort((a, b) => a - b);
    const median = counts.length ? counts[Math.floor((counts.length - 1) / 2)]! : 0;
    let busiest: { minute: string; calls: number } | undefined;
    for (const [minute, calls] of perMinute) {
      if (!busiest || calls > busiest.calls) busiest = { minute, calls };
      if (calls >= SPIKE_MIN_CALLS && calls > SPIKE_FACTOR * median) e.unusual.push({ kind: 'spike', at: minute, detail: `${calls} calls in a minute, median ${median}` });
    }
    e.busiestMinute = busiest;
    for (const [minute, n] of deniedPerMinute) if (n >= DENIAL_BURST) e.unusual.push({ kind: 'denial_burst', at: minute, detail: `${n} refused calls in a minute` });
    e.unusual.sort((a, b) => a.at.localeCompare(b.at));
    return e;
  });
  keys.sort((a, b) => b.unusual.length - a.unusual.length || b.calls - a.calls || a.keyId.localeCompare(b.keyId));
  return {
    tenant: input.tenant,
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    generatedAt: (input.now ?? new Date()).toISOString(),
    keys,
    denials,
    keyChanges,
    truncated: input.truncated,
  };
}

/** The key of an event: the key id in its data, else its actor (`jwt:{sub}` for a user). */
function keyOf(r: AuditRecord): string {
  const fromData = r.data['keyId'];
  if (typeof fromData === 'string') return fromData;
  if (r.actor.kind === 'user') return `jwt:${r.actor.id}`;
  return r.actor.kind === 'api_key' ? r.actor.id : 'unknown';
}

/** The review as CSV: one row per key; lists joined with `;`. */
export function accessReviewCsv(review: AccessReview): string {
  const cell = (v: unknown) => {
    const text = String(v ?? '');
    return /[",\n\r]/.test(text) || /^[=+\-@]/.test(text) ? `"${text.replace(/"/g, '""').replace(/^([=+\-@])/, "'$1")}"` : text;
  };
  const header = ['keyId', 'name', 'status', 'calls', 'errors', 'denials', 'activeMinutes', 'routes', 'sources', 'newSources', 'unusual'];
  const rows = review.keys.map((k) => [
    k.keyId,
    k.name,
    k.status,
    k.calls,
    k.errors,
    k.denials,
    k.activeMinutes,
    k.routes.map((r) => `${r.route}=${r.calls}`).join(';'),
    k.sources.map((s) => `${s.address}=${s.calls}`).join(';'),
    k.sources.filter((s) => s.new).map((s) => s.address).join(';'),
    k.unusual.map((u) => `${u.kind}@${u.at}`).join(';'),
  ]);
  return [header, ...rows].map((row) => row.map(cell).join(',')).join('\n') + '\n';
}
