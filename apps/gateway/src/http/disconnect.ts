import type { ServerResponse } from 'node:http';

/**
 * A signal that fires when the client goes away before its response was sent: the socket closed with the
 * response unfinished. Lets a request stop the work it started (a model call costs money until it ends).
 */
export function clientGone(res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort(new Error('the client closed the connection'));
  });
  return gone.signal;
}
