import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The redirect target of a desktop login (RFC 8252 §7.3): a listener on 127.0.0.1 with a port the system picks,
 * for one login only. It answers redirects to `/callback` until one ends the login, then closes; it also closes when
 * the login times out. Nothing else is served.
 */

export interface LoopbackListener {
  redirectUri: string;
  port: number;
  /** Resolves once the listener is closed and its port released. */
  closed: Promise<void>;
  close(): void;
}

/** What the browser shows after the redirect: the user goes back to the app from there. */
export interface LoopbackPage {
  status: number;
  html: string;
  /** The login is over: the listener closes once the page is sent. Otherwise it keeps waiting for the right answer. */
  done: boolean;
}

const CALLBACK_PATH = '/callback';

export async function listenOnLoopback(handleCallback: (query: URLSearchParams, address: string) => Promise<LoopbackPage>, timeoutMs: number): Promise<LoopbackListener> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Not found\n');
      return;
    }
    // Cannot reject: a failed callback is answered as a 500 page.
    void handleCallback(url.searchParams, request.socket.remoteAddress ?? '127.0.0.1').then(
      (page) => respond(page),
      () => respond({ status: 500, html: '<p>The login could not be completed.</p>', done: true }),
    );
    function respond(page: LoopbackPage) {
      response
        .writeHead(page.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', connection: 'close' })
        .end(page.html, page.done ? close : undefined);
    }
  });
  const closed = new Promise<void>((resolve) => server.once('close', resolve));
  const timer = setTimeout(close, timeoutMs);
  timer.unref();
  function close() {
    clearTimeout(timer);
    if (!server.listening) return;
    server.close();
    // A browser keeps its connection open: the port must be released now, not when it lets go.
    server.closeAllConnections();
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`, port, closed, close };
}
