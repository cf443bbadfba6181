import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { forbidden } from '../fhir/outcome';

/**
 * What every response of the node carries, and who may call it from where:
 * - `Host` must name this node: a web page whose domain an attacker points at 127.0.0.1 (DNS rebinding) sends its
 *   own name and is refused, so it cannot read the API through the victim's browser;
 * - CORS is off unless origins are allowed by configuration;
 * - headers that keep responses out of frames, caches and content sniffing.
 */

export interface SecurityOptions {
  /** The address the node listens on: also an accepted Host when it is a specific one. */
  listenHost: string;
  /** More names clients may use to reach the node (a LAN name when it serves an office). */
  allowedHosts?: readonly string[];
  /** Web origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** API answers (OWASP REST cheat sheet): never sniffed, never framed, and never cached (patient data, tokens). */
const API_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "frame-ancestors 'none'",
  'cache-control': 'no-store',
};
/** Pages (the web UI) also keep their address to themselves and their resources to their origin. */
const PAGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  // The web UI's own policy is in its page; this part can only be a header.
  'content-security-policy': "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

export async function applySecurity(app: FastifyInstance, options: SecurityOptions): Promise<void> {
  const allowed = new Set([...LOOPBACK_NAMES, ...(options.allowedHosts ?? [])].map((name) => name.toLowerCase()));
  if (!WILDCARD_HOSTS.has(options.listenHost)) allowed.add(options.listenHost.toLowerCase());
  // Without allowed origins there is nothing to answer: no CORS headers at all (and no per-request hook).
  const origins = new Set(options.corsOrigins ?? []);
  if (origins.size > 0) await app.register(cors, { origin: (origin, callback) => callback(null, origin !== undefined && origins.has(origin)) });
  // A callback hook: an async one costs a promise per request on the hot path.
  // Host header → accepted: clients send the same few values, so each is parsed once.
  const verdicts = new Map<string, boolean>();
  const accepted = (host: string | undefined) => {
    if (host === undefined) return false;
    let verdict = verdicts.get(host);
    if (verdict === undefined) {
      const hostname = hostnameOf(host);
      verdict = hostname !== undefined && allowed.has(hostname);
      if (verdicts.size >= MAX_HOST_VERDICTS) verdicts.clear();
      verdicts.set(host, verdict);
    }
    return verdict;
  };
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(isApi(request.url) ? API_HEADERS : PAGE_HEADERS);
    if (!accepted(request.headers.host)) {
      done(forbidden('host-not-allowed', `Host '${request.headers.host ?? ''}' is not a name of this node (allow it with --allowed-host)`));
      return;
    }
    done();
  });
}

const MAX_HOST_VERDICTS = 1000;

function isApi(url: string): boolean {
  return url.startsWith('/fhir') || url.startsWith('/admin') || url.startsWith('/oauth');
}

/**
 * `example.org:8347` → `example.org`, `[::1]:8347` → `[::1]`; lower case. Anything after the name but a port makes it
 * no name: the node builds its FHIR base, against which absolute references are read, from `Host`.
 */
function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const value = host.toLowerCase();
  const end = value.startsWith('[') ? value.indexOf(']') + 1 : value.indexOf(':') < 0 ? value.length : value.indexOf(':');
  if (end <= 0) return undefined;
  const rest = value.slice(end);
  return rest === '' || (PORT.test(rest) && Number(rest.slice(1)) <= 65535) ? value.slice(0, end) : undefined;
}

const PORT = /^:\d{1,5}$/;
