import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { LoginErrorCode, SessionUser } from '../../src-main/preload/bridge';
import { exchangeHandoff, loginUrl, refresh, TokenRefused, type BrowserLoginError, type SessionTokens } from '../api/browser-login';
import { nodeUrl } from '../node-connection';

/**
 * Who is logged in and how their calls carry a token. In the desktop app the main process holds the session (the
 * bridge hands out a fresh access token per call); in a browser this tab does: the tokens live in sessionStorage
 * (this tab only, gone when it closes), refreshed a minute before they expire, one refresh at a time.
 */

const TOKENS_KEY = 'liaison.session';
const REFRESH_MARGIN_MS = 60_000;

/** `GET /auth/config`. */
export interface LoginScreen {
  provider: { issuer: string; demo: boolean } | null;
  demoAccounts?: Array<{ login: string; password: string; displayName: string; description: string }>;
}

/** Why there is no session, as an i18n key under `login.errors`. */
export type LoginProblem = BrowserLoginError | LoginErrorCode | 'session_expired' | 'node_unreachable';

export const useSessionStore = defineStore('session', () => {
  const bridge = window.liaison;
  const mode = bridge ? 'desktop' : 'browser';
  const state = ref<'unknown' | 'out' | 'waiting' | 'in'>('unknown');
  const user = ref<SessionUser | null>(null);
  const problem = ref<LoginProblem>();
  const loginScreen = ref<LoginScreen>();
  /** After a logout: the provider's own logout page, for a shared computer. */
  const providerLogoutUrl = ref<string>();
  let tokens: SessionTokens | undefined;
  let refreshing: Promise<SessionTokens | undefined> | undefined;

  const isAdmin = computed(() => user.value?.roles.includes('admin') ?? false);
  /** The reference the user's own work is filed under: their Practitioner, else their first practice. */
  const userReference = computed(() => {
    if (user.value?.practitionerId) return `Practitioner/${user.value.practitionerId}`;
    const practice = user.value?.organizations[0];
    return practice ? `Organization/${practice}` : undefined;
  });

  function keep(next: SessionTokens | undefined): void {
    tokens = next;
    if (next) sessionStorage.setItem(TOKENS_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(TOKENS_KEY);
  }

  async function loadLoginScreen(): Promise<void> {
    try {
      const response = await fetch(await nodeUrl('/auth/config'));
      loginScreen.value = (await response.json()) as LoginScreen;
    } catch {
      problem.value = 'node_unreachable';
    }
  }

  async function me(accessToken: string): Promise<SessionUser> {
    const response = await fetch(await nodeUrl('/auth/me'), { headers: { authorization: `Bearer ${accessToken}` } });
    if (!response.ok) throw new TokenRefused(String(response.status), 'the session is not valid');
    return (await response.json()) as SessionUser;
  }

  function signedIn(who: SessionUser): void {
    user.value = who;
    state.value = 'in';
    problem.value = undefined;
  }

  function signedOut(why?: LoginProblem): void {
    keep(undefined);
    user.value = null;
    state.value = 'out';
    problem.value = why;
  }

  /** At start: the login coming back from the provider, or the session this tab (or the desktop app) already has. */
  async function restore(location: Location = window.location): Promise<void> {
    if (bridge) {
      bridge.onSessionChange((who) => (who ? signedIn(who) : signedOut(state.value === 'in' ? 'session_expired' : undefined)));
      try {
        const session = await bridge.session();
        if (session) signedIn(session.user);
        else signedOut();
      } catch {
        signedOut('node_unreachable');
      }
      return;
    }
    const query = new URLSearchParams(location.search);
    const handoff = query.get('login');
    const refused = query.get('login_error');
    if (handoff || refused) history.replaceState(history.state, '', `${location.pathname}${location.hash}`);
    try {
      if (refused) return signedOut(refused as BrowserLoginError);
      if (handoff) keep(await exchangeHandoff(handoff));
      else {
        const stored = sessionStorage.getItem(TOKENS_KEY);
        tokens = stored ? (JSON.parse(stored) as SessionTokens) : undefined;
      }
      const token = await accessToken();
      if (!token) return signedOut();
      signedIn(await me(token));
    } catch (error) {
      signedOut(error instanceof TokenRefused ? (handoff ? 'invalid_state' : 'session_expired') : 'node_unreachable');
    }
  }

  async function login(): Promise<void> {
    problem.value = undefined;
    if (!bridge) {
      window.location.assign(await loginUrl());
      return;
    }
    state.value = 'waiting';
    const result = await bridge.login();
    if (result.ok) signedIn(result.user);
    else signedOut(result.error === 'cancelled' ? undefined : result.error);
  }

  async function cancelLogin(): Promise<void> {
    await bridge?.cancelLogin();
  }

  async function logout(): Promise<void> {
    if (bridge) {
      await bridge.logout();
      return signedOut();
    }
    const token = tokens?.accessToken;
    signedOut();
    if (!token) return;
    try {
      const response = await fetch('/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      providerLogoutUrl.value = ((await response.json()) as { end_session_url?: string }).end_session_url;
    } catch {
      // The session ends on its own; this tab has forgotten it already.
    }
  }

  /** A valid access token (refreshed when about to expire), or undefined without a session. */
  async function accessToken(force = false): Promise<string | undefined> {
    if (bridge) return (await bridge.session())?.accessToken;
    if (!tokens) return undefined;
    if (!force && tokens.expiresAt - Date.now() > REFRESH_MARGIN_MS) return tokens.accessToken;
    const used = tokens.refreshToken;
    refreshing ??= refresh(used)
      .then((next) => (keep(next), next))
      .catch((error) => {
        if (error instanceof TokenRefused) keep(undefined);
        throw error;
      })
      .finally(() => (refreshing = undefined));
    return (await refreshing)?.accessToken;
  }

  /** A call to the node as the user; a token the node no longer takes is refreshed once, else the session ends. */
  async function fetchAsUser(path: string, init: RequestInit = {}): Promise<Response> {
    const send = async (token: string | undefined) => {
      const headers = new Headers(init.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      return fetch(await nodeUrl(path), { ...init, headers });
    };
    let response = await send(await accessToken());
    if (response.status === 401 && state.value === 'in') {
      const renewed = await accessToken(true).catch(() => undefined);
      if (renewed) response = await send(renewed);
      if (response.status === 401) signedOut('session_expired');
    }
    return response;
  }

  return { mode, state, user, problem, loginScreen, providerLogoutUrl, isAdmin, userReference, loadLoginScreen, restore, login, cancelLogin, logout, accessToken, fetchAsUser };
});
