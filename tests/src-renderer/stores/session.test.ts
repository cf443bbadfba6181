// @vitest-environment happy-dom
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useSessionStore } from '../../../src-renderer/stores/session';
import { CLAIRE, FakeNode, loginConfig, PSC } from '../fake-node';

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
  setActivePinia(createPinia());
});
afterEach(() => vi.unstubAllGlobals());

const at = (search: string) => ({ search, pathname: '/', hash: '#/directory' }) as Location;
const tokens = (access: string, refresh: string) => ({ json: { access_token: access, refresh_token: refresh, expires_in: 3600, token_type: 'Bearer' } });

describe('the session store (browser)', () => {
  it('completes a login coming back from the provider: hand-off code and PKCE verifier for tokens, then the user', async () => {
    sessionStorage.setItem('liaison.login.verifier', 'the-verifier');
    node.on('POST', /^\/oauth\/token$/, tokens('access-1', 'refresh-1')).on('GET', /^\/auth\/me$/, { json: CLAIRE });
    const replace = vi.spyOn(history, 'replaceState');
    const session = useSessionStore();
    await session.restore(at('?login=handoff-code'));

    const form = new URLSearchParams(node.callsTo('POST', /oauth\/token/)[0].body as string);
    expect(Object.fromEntries(form)).toEqual({ grant_type: 'authorization_code', client_id: 'liaison-ui', code: 'handoff-code', code_verifier: 'the-verifier' });
    expect(node.callsTo('GET', /auth\/me/)[0].headers.get('authorization')).toBe('Bearer access-1');
    expect(session.state).toBe('in');
    expect(session.userReference).toBe('Practitioner/demo-claire-martin');
    expect(session.isAdmin).toBe(true);
    // The code leaves the address bar; the verifier is used up.
    expect(replace).toHaveBeenCalledWith(null, '', '/#/directory');
    expect(sessionStorage.getItem('liaison.login.verifier')).toBeNull();
  });

  it('explains a refused login by its code and keeps no session', async () => {
    const session = useSessionStore();
    node.on('GET', /^\/auth\/config$/, loginConfig(PSC));
    await session.restore(at('?login_error=issuer_unreachable'));
    expect(session.state).toBe('out');
    expect(session.problem).toBe('issuer_unreachable');
    expect(node.calls.map((call) => call.url.pathname)).toEqual(['/auth/config']);
  });

  it('refreshes a token the node no longer takes, once, and ends the session when the refresh is refused too', async () => {
    sessionStorage.setItem('liaison.session', JSON.stringify({ accessToken: 'old', refreshToken: 'refresh-1', expiresAt: Date.now() + 3_600_000 }));
    node.on('GET', /^\/auth\/me$/, { json: CLAIRE });
    const session = useSessionStore();
    await session.restore(at(''));
    expect(session.state).toBe('in');

    node.on('GET', /^\/fhir\/Patient/, (call) => ({ status: call.headers.get('authorization') === 'Bearer new' ? 200 : 401, json: {} }));
    node.on('POST', /^\/oauth\/token$/, tokens('new', 'refresh-2'));
    expect((await session.fetchAsUser('/fhir/Patient')).status).toBe(200);
    expect(JSON.parse(sessionStorage.getItem('liaison.session')!).refreshToken).toBe('refresh-2');

    node.on('GET', /^\/fhir\/Patient/, { status: 401 });
    node.on('POST', /^\/oauth\/token$/, { status: 400, json: { error: 'invalid_grant', error_description: 'used' } });
    expect((await session.fetchAsUser('/fhir/Patient')).status).toBe(401);
    expect(session.state).toBe('out');
    expect(session.problem).toBe('session_expired');
    expect(sessionStorage.getItem('liaison.session')).toBeNull();
  });

  it('logs out at the node and offers the provider’s own logout page', async () => {
    sessionStorage.setItem('liaison.session', JSON.stringify({ accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 3_600_000 }));
    node.on('GET', /^\/auth\/me$/, { json: CLAIRE }).on('POST', /^\/auth\/logout$/, { json: { end_session_url: 'http://idp.test/logout' } });
    const session = useSessionStore();
    await session.restore(at(''));
    await session.logout();
    expect(node.callsTo('POST', /auth\/logout/)[0].headers.get('authorization')).toBe('Bearer a');
    expect(session.state).toBe('out');
    expect(session.providerLogoutUrl).toBe('http://idp.test/logout');
  });
});
