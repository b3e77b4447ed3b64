/**
 * Canonical JSON: object keys sorted (by UTF-16 code unit, as Array.prototype.sort does) at every depth,
 * `undefined` members dropped, no whitespace. Two equal records give the same bytes whatever the key order
 * they were built or stored in (MongoDB and JSON columns do not keep it), so the hash can be recomputed.
 */
export function canonicalJson(value: unknown): string {
  const out = write(value);
  if (out === undefined) throw new TypeError('canonicalJson: the value has no JSON form');
  return out;
}

function write(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => write(v) ?? 'null').join(',')}]`;
  if (typeof value === 'object') {
    const json = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return write(json.call(value));
    const parts: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const v = write((value as Record<string, unknown>)[key]);
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
    }
    return `{${parts.join(',')}}`;
  }
  // Strings, finite numbers and booleans as JSON.stringify writes them; functions and symbols have no form.
  return JSON.stringify(value);
}
