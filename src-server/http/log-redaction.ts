import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/**
 * Request log lines show the URL, and a login's secrets travel in URLs: the provider's code and state on
 * `/auth/callback`, the hand-off code on `/?login=`. Their values are replaced before a line is written.
 */

const SECRET_PARAMETERS = ['code', 'state', 'login', 'session_state'];

export function redactedUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of SECRET_PARAMETERS) if (params.has(name)) params.set(name, 'redacted');
  return `${url.slice(0, query)}?${params}`;
}

/** The node's logger options with requests logged as Fastify does, their URL redacted. */
export function withRedaction(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return false;
  const options = logger === true ? {} : logger;
  return {
    ...options,
    serializers: {
      ...options.serializers,
      req: (request: FastifyRequest) => ({ method: request.method, url: redactedUrl(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort }),
    },
  };
}
