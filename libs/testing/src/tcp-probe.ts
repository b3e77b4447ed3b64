import { connect } from 'node:net';

/**
 * Connects to 127.0.0.1:port, optionally writes `send`, and resolves true once the first bytes received
 * start with `expect`. False on refusal, a different greeting, or no answer within `timeoutMs`.
 */
export function tcpProbe(port: number, expect: string, send?: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (received.length >= expect.length) done(received.startsWith(expect));
    });
    socket.once('end', () => done(received.startsWith(expect) && received.length > 0));
  });
}
