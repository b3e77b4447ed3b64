import type { ServerResponse } from 'node:http';
import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import { clientGone } from '../http/disconnect';
import type { AuditPage } from './audit-rpc-client';

/**
 * The last line of every export, and the only line that is not an AuditRecord (a record never has an
 * `export` field). A client knows the export is whole only when it reads `{"export":"complete","count":N}`
 * with N the number of records it read; a stream that ends without a trailer (the connection dropped) or with
 * `{"export":"incomplete",...}` is partial. `cursor`, when present, is the `cursor` for
 * `GET /v1/audit/events` with the same filters to fetch the rest page by page.
 */
export type AuditExportTrailer =
  | { export: 'complete'; count: number }
  | { export: 'incomplete'; count: number; error: { code: string; message: string }; cursor?: string };

/** Fetches one page: the first when `cursor` is undefined. */
export type AuditPageFetcher = (cursor: string | undefined) => Promise<AuditPage>;

/** Resolves once the response can take more (drain) or the client is gone (close). */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve();
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Streams an export as `application/x-ndjson`: one AuditRecord per line, page after page until a page has no
 * `nextCursor`, then the trailer line. `first` is the first page, fetched before anything was written (so an
 * error there is an ordinary HTTP error response); a failure after that ends the stream with an `incomplete`
 * trailer. Stops asking for pages as soon as the client goes away.
 */
export async function streamAuditExport(
  res: ServerResponse,
  first: AuditPage,
  fetchPage: AuditPageFetcher,
  opts: { filename: string },
): Promise<{ count: number; trailer?: AuditExportTrailer }> {
  const gone = clientGone(res);
  res.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    'content-disposition': `attachment; filename="${opts.filename}"`,
    'x-accel-buffering': 'no',
  });
  let count = 0;
  let page = first;
  let trailer: AuditExportTrailer;
  for (;;) {
    if (page.events.length) {
      const text = page.events.map((e) => `${JSON.stringify(e)}\n`).join('');
      count += page.events.length;
      if (!res.write(text)) await writable(res);
    }
    if (gone.aborted) return { count };
    const cursor = page.nextCursor;
    if (!cursor) {
      trailer = { export: 'complete', count };
      break;
    }
    try {
      page = await fetchPage(cursor);
      if (page.nextCursor === cursor) throw new KeelsonError(500, ErrorCodes.internal, 'audit-service returned the same cursor twice');
    } catch (err) {
      const e = err instanceof KeelsonError ? err : undefined;
      trailer = {
        export: 'incomplete',
        count,
        error: { code: e?.code ?? ErrorCodes.internal, message: e?.message ?? 'internal error' },
        cursor,
      };
      break;
    }
    if (gone.aborted) return { count };
  }
  res.end(`${JSON.stringify(trailer)}\n`);
  return { count, trailer };
}
