import { headers as natsHeaders, type MsgHdrs } from 'nats';

/** NATS headers as a plain record; a header with several values becomes one comma-joined value. */
export function headersToRecord(hdrs: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!hdrs) return out;
  for (const key of hdrs.keys()) out[key] = hdrs.values(key).join(',');
  return out;
}

/** A plain record as NATS headers; values lose CR and LF, which the protocol cannot carry. */
export function recordToHeaders(record: Record<string, string> | undefined): MsgHdrs {
  const hdrs = natsHeaders();
  if (!record) return hdrs;
  for (const [key, value] of Object.entries(record)) hdrs.set(key, headerValue(value));
  return hdrs;
}

export function headerValue(value: string, maxLength = 1_024): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return flat.length > maxLength ? `${flat.slice(0, maxLength - 1)}…` : flat;
}

/** Case-insensitive lookup in a header record. */
export function getHeader(record: Record<string, string>, name: string): string | undefined {
  if (record[name] !== undefined) return record[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(record)) if (key.toLowerCase() === lower) return value;
  return undefined;
}
