import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Sessions } from '../../../src-server/auth/sessions';
import { MAX_LIVE_TOKENS_PER_CLIENT, MAX_LIVE_TOKENS_PER_SESSION, TokenStore } from '../../../src-server/auth/tokens';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { createApiClient, tokenOf, userToken } from '../../helpers/users';

/**
 * `POST /oauth/token` under attack, on a real node: a client minting tokens in a loop, wrong secrets sent for a
 * known client_id, made-up client_ids. The endpoint stays rate limited, the real client is never locked out, the
 * node keeps serving everyone else, and what it keeps (memory, token rows) stays bounded.
 */

type Json = Record<string, any>;
type Credentials = { client_id: string; client_secret: string };

const node = useTestNode();

const tokenRequest = (clientId: string, secret: string, signal?: AbortSignal) =>
  fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }), signal });

async function timed(request: () => Promise<Response>): Promise<{ status: number; ms: number; response: Response }> {
  const start = performance.now();
  const response = await request();
  await response.arrayBuffer().catch(() => undefined);
  return { status: response.status, ms: performance.now() - start, response };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs `attempt` in a loop on `connections` connections until the signal aborts; aborted requests end quietly. */
function flood(connections: number, signal: AbortSignal, attempt: (n: number) => Promise<void>): Promise<void> {
  const loop = async (n: number) => {
    while (!signal.aborted) {
      try {
        await attempt(n);
      } catch (error) {
        if (!signal.aborted) throw error;
      }
    }
  };
  return Promise.all(Array.from({ length: connections }, (_, n) => loop(n))).then(() => undefined);
}

describe('rate limit of the token endpoint', () => {
  it("answers 429 slow_down with Retry-After and RateLimit headers once a client's bucket is empty, and tokens again after", async () => {
    const who = await createApiClient(node(), { scopes: ['PATIENT_READ'], rateLimit: 10 });
    expect((await tokenRequest(who.client_id, who.client_secret)).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 16 }, () => tokenRequest(who.client_id, who.client_secret)));
    const throttled = answers.filter((answer) => answer.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(3);
    expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(5);
    for (const answer of throttled) {
      const retryAfter = Number(answer.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(answer.headers.get('ratelimit-limit')).toBe('10');
      expect(answer.headers.get('ratelimit-remaining')).toBe('0');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(((await answer.json()) as Json).error).toBe('slow_down');
    }
    await sleep(Number(throttled[0].headers.get('retry-after')) * 1000);
    expect((await tokenRequest(who.client_id, who.client_secret)).status).toBe(200);
  });

  it("limits a user's refreshes without using up the refresh token, and caps a session's live access tokens", async () => {
    const userId = `refresher-${randomUUID()}`;
    userToken(node().db, { userId, roles: 'practitioner', practitionerId: null, organizations: '' });
    let tokens = new Sessions(node().db, new TokenStore(node().db)).open(userId);
    const first = tokens.access_token;
    expect((await fhirFetch(node().fhir, first, 'Patient?_count=1')).status).toBe(200);
    const refresh = (refreshToken: string) =>
      fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'liaison-ui', refresh_token: refreshToken }) });
    let refreshed = 0;
    let throttled: Response | undefined;
    while (refreshed < 40) {
      const answer = await refresh(tokens.refresh_token);
      if (answer.status === 429) {
        throttled = answer;
        break;
      }
      expect(answer.status).toBe(200);
      tokens = (await answer.json()) as typeof tokens;
      refreshed++;
    }
    expect(throttled, 'refreshed 40 times in a row without a 429').toBeDefined();
    expect(refreshed).toBeGreaterThanOrEqual(10);
    expect(Number(throttled!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await throttled!.json()) as Json).error).toBe('slow_down');
    // More than MAX_LIVE_TOKENS_PER_SESSION issued: the first is gone at once, though it was cached; the newest works.
    expect(refreshed + 1).toBeGreaterThan(MAX_LIVE_TOKENS_PER_SESSION);
    expect((await fhirFetch(node().fhir, first, 'Patient?_count=1')).status).toBe(401);
    expect((await fhirFetch(node().fhir, tokens.access_token, 'Patient?_count=1')).status).toBe(200);
    // The refresh token refused with 429 was not used up: it refreshes once the wait is over.
    await sleep(Number(throttled!.headers.get('retry-after')) * 1000);
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });
});

describe('wrong secrets', () => {
  it('never keep the real client out: during a flood of them its secret is answered at once, the wrong ones later and later', async () => {
    const target = await createApiClient(node(), { scopes: ['PATIENT_READ'] });
    // The real client got tokens before (its software runs every day).
    expect((await tokenRequest(target.client_id, target.client_secret)).status).toBe(200);
    const stop = new AbortController();
    const wrong: number[] = [];
    const flooding = flood(10, stop.signal, async (n) => {
      const answer = await timed(() => tokenRequest(target.client_id, `wrong-${n}-${randomUUID()}`, stop.signal));
      expect(answer.status).toBe(401);
      wrong.push(answer.ms);
    });
    const right: number[] = [];
    for (let n = 0; n < 6; n++) {
      await sleep(400);
      const answer = await timed(() => tokenRequest(target.client_id, target.client_secret));
      expect(answer.status).toBe(200);
      right.push(answer.ms);
    }
    stop.abort();
    await flooding;
    expect(Math.max(...right)).toBeLessThan(500);
    // Held back 100 ms, 200 ms, 400 ms… for the client's successive failures: in 2.4 s, ten connections got a few answers.
    expect(wrong.length).toBeGreaterThanOrEqual(3);
    expect(wrong.length).toBeLessThanOrEqual(20);
    expect(Math.max(...wrong)).toBeGreaterThanOrEqual(800);
  });

  it('are each answered later than the one before, for a known client and for made-up ones', async () => {
    const target = await createApiClient(node(), { scopes: ['PATIENT_READ'] });
    for (const clientId of [target.client_id, randomUUID()]) {
      const times: number[] = [];
      for (let n = 0; n < 5; n++) {
        const answer = await timed(() => tokenRequest(clientId, `guess-${n}`));
        expect(answer.status).toBe(401);
        times.push(answer.ms);
      }
      // 100, 200, 400, 800, 1600 ms (the timers may fire a millisecond early).
      times.forEach((ms, n) => expect(ms, JSON.stringify(times)).toBeGreaterThanOrEqual(100 * 2 ** n - 2));
    }
  });
});

describe('what the endpoint keeps', () => {
  it(`caps a client's live tokens at ${MAX_LIVE_TOKENS_PER_CLIENT}: the oldest stops working at once`, async () => {
    const who: Credentials = await createApiClient(node(), { scopes: ['PATIENT_SEARCH'] });
    const first = await tokenOf(node(), who);
    const second = await tokenOf(node(), who);
    // Used, so cached by the node: the cap must reach its cache too.
    expect((await fhirFetch(node().fhir, first, 'Patient?_count=1')).status).toBe(200);
    for (let n = 2; n <= MAX_LIVE_TOKENS_PER_CLIENT; n++) await tokenOf(node(), who);
    expect((await fhirFetch(node().fhir, first, 'Patient?_count=1')).status).toBe(401);
    expect((await fhirFetch(node().fhir, second, 'Patient?_count=1')).status).toBe(200);
    const live = node().db.prepare('SELECT count(*) AS n FROM oauth_tokens WHERE client_id = ? AND revoked_at IS NULL AND expires_at > ?').get(who.client_id, Date.now()) as { n: number };
    expect(live.n).toBe(MAX_LIVE_TOKENS_PER_CLIENT);
  });

  it('keeps its memory bounded whatever client_ids a flood makes up', async () => {
    const before = node().tokenGuard.size;
    const answers = await Promise.all(Array.from({ length: 500 }, () => tokenRequest(randomUUID(), 'x').then((answer) => answer.status)));
    expect(answers.every((status) => status === 401)).toBe(true);
    expect(node().tokenGuard.size).toBeLessThanOrEqual(before + 1);
  });
});

describe('the event loop', () => {
  it('keeps serving other clients while clients mint tokens and send wrong secrets in a loop', async () => {
    // Neither client got a token before: their first checks run scrypt.
    const minter = await createApiClient(node(), { scopes: ['PATIENT_READ'], rateLimit: 10 });
    const guessed = await createApiClient(node(), { scopes: ['PATIENT_READ'] });
    const stop = new AbortController();
    const flooding = flood(10, stop.signal, async (n) => {
      const answer = await (n % 2 === 0 ? tokenRequest(minter.client_id, minter.client_secret, stop.signal) : tokenRequest(guessed.client_id, `wrong-${randomUUID()}`, stop.signal));
      await answer.arrayBuffer();
    });
    const reads: number[] = [];
    const until = performance.now() + 2000;
    while (performance.now() < until) reads.push((await timed(() => node().request('Patient?_count=1'))).ms);
    stop.abort();
    await flooding;
    expect(median(reads), JSON.stringify(reads.map(Math.round))).toBeLessThan(100);
  });
});
