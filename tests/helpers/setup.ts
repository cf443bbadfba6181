import { pkcePair } from './browser';

/**
 * The first run and local logins over HTTP, as the UI does them: `POST /setup` with the set-up code, `POST
 * /auth/password` for a hand-off code, exchanged with the PKCE verifier on `POST /oauth/token`.
 */

type Json = Record<string, any>;

export const ADMIN_PASSWORD = 'correct horse battery';

export interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

/** A JSON call to a node (`token`: a bearer; `setupCode`: the set-up code header). */
export async function call(url: string, method: string, path: string, options: { json?: unknown; token?: string; setupCode?: string } = {}): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.setupCode !== undefined ? { 'x-liaison-setup-code': options.setupCode } : {}),
    },
    ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {}, headers: response.headers };
}

/** The set-up of a practice made on the node with its first admin, local accounts only. */
export function setupBody(overrides: Json = {}): Json {
  return {
    practice: { name: 'Cabinet des Tilleuls', finess: '750000001', address: { line: '3 rue des Tilleuls', postalCode: '75011', city: 'Paris' } },
    admin: { login: 'admin', password: ADMIN_PASSWORD, displayName: 'Marie Curie' },
    identity: { provider: 'none' },
    ...overrides,
  };
}

/** The code of a refusal (`details.coding[0].code` of its OperationOutcome). */
export function refusalCode(answer: Answer): string | undefined {
  return answer.body.issue?.[0]?.details?.coding?.[0]?.code;
}

/** A local login to the end: the session's tokens, or the refusal. */
export async function passwordLogin(url: string, login: string, password: string): Promise<{ tokens?: Json; refused?: Answer }> {
  const { verifier, challenge } = pkcePair();
  const started = await call(url, 'POST', '/auth/password', { json: { login, password, code_challenge: challenge } });
  if (started.status !== 200) return { refused: started };
  return { tokens: await exchange(url, started.body.code, verifier) };
}

/** Exchanges a hand-off code for the session's tokens (throws when refused). */
export async function exchange(url: string, code: string, verifier: string): Promise<Json> {
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'liaison-ui', code, code_verifier: verifier }),
  });
  const body = (await response.json()) as Json;
  if (response.status !== 200) throw new Error(`the token exchange answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}
