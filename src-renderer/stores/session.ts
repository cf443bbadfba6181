import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { LocalLoginRefusal, LoginErrorCode, LoginResult, SessionUser } from '../../src-main/preload/bridge';
import { exchangeHandoff, loginUrl, passwordChange, passwordLogin, refresh, TokenRefused, type BrowserLoginError, type SessionTokens } from '../api/browser-login';
import { NodeUnreachableError } from '../api/fhir-client';
import { refusalOf } from '../api/refusal';
import { nodeUrl } from '../node-connection';

/**
 * Who is logged in and how their calls carry a token. In the desktop app the main process holds the session (the
 * bridge hands out a fresh access token per call); in a browser this tab does: the tokens live in sessionStorage
 * (this tab only, gone when it closes), refreshed a minute before they expire, one refresh at a time. Two ways in:
 * the identity provider the node names, and a local account (login and password of this node).
 */

const TOKENS_KEY = 'liaison.session';
const REFRESH_MARGIN_MS = 60_000;

export type ProviderKind = 'psc' | 'psc-sandbox' | 'oidc' | 'demo';

/** `GET /auth/config`: what the login screen offers, before anyone is logged in. */
export interface LoginScreen {
  provider: { kind: ProviderKind; issuer: string; label: string } | null;
  /** Local accounts may log in (login and password of this node). */
  localAccounts: boolean;
  /** The data folder has no user yet: the first-run set-up screen comes first. */
  setup: boolean;
  demoAccounts?: Array<{ login: string; password: string; displayName: string; description: string }>;
}

/** Why there is no session, as an i18n key under `login.errors`. */
export type LoginProblem = BrowserLoginError | LoginErrorCode | 'session_expired' | 'node_unreachable';

const LOCAL_REFUSALS: readonly string[] = ['bad-credentials', 'account-disabled', 'local-accounts-off', 'password-change-required', 'too-many-attempts', 'password-too-short', 'password-too-long', 'password-unchanged'] satisfies LocalLoginRefusal[];

export const useSessionStore = defineStore('session', () => {
  const bridge = window.liaison;
  const mode = bridge ? 'desktop' : 'browser';
  const state = ref<'unknown' | 'out' | 'waiting' | 'in'>('unknown');
  const user = ref<SessionUser | null>(null);
  const problem = ref<LoginProblem>();
  const loginScreen = ref<LoginScreen>();
  /** After a logout: the provider's own logout page, for a shared computer. */
  const providerLogoutUrl = ref<string>();
  /** After too many failed local logins: how long the node asks to wait. */
  const retryAfterSeconds = ref<number>();
  /** A local account whose password was reset: its login, while the login screen asks for a new password. */
  const passwordChangeFor = ref<string>();
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
      if (!response.ok) throw new Error(`GET /auth/config answered ${response.status}`);
      loginScreen.value = (await response.json()) as LoginScreen;
      if (problem.value === 'node_unreachable') problem.value = undefined;
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

  /**
   * At start: what the login screen offers (and whether the node awaits its set-up), then the login coming back from
   * the provider, or the session this tab (or the desktop app) already has.
   */
  async function restore(location: Location = window.location): Promise<void> {
    await loadLoginScreen();
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

  /**
   * Logs in with a local account. A refusal stays on the screen by its code; `password-change-required` (a reset)
   * makes the screen ask for a new password, which `changePassword` sends with this one.
   */
  async function loginWithPassword(login: string, password: string): Promise<LoginResult> {
    problem.value = undefined;
    const result = bridge ? await bridge.loginWithPassword(login, password) : await inThisTab(() => passwordLogin(login, password));
    if (!result.ok && result.error === 'password-change-required') {
      passwordChangeFor.value = login;
      return result;
    }
    return settle(result);
  }

  /**
   * A local account's new password: forced after a reset (from the login screen), or the logged-in user's choice (in
   * Settings: a refusal then leaves the session as it was). On success the session is the one of the new password.
   */
  async function changePassword(login: string, password: string, newPassword: string): Promise<LoginResult> {
    const previous = state.value === 'in' ? tokens?.accessToken : undefined;
    const result = bridge ? await bridge.changePassword(login, password, newPassword) : await inThisTab(() => passwordChange(login, password, newPassword));
    if (result.ok) {
      passwordChangeFor.value = undefined;
      // The tab's former session is replaced: end it at the node rather than leave it running for 12 h.
      if (previous) void fetch(await nodeUrl('/auth/logout'), { method: 'POST', headers: { authorization: `Bearer ${previous}` } }).catch(() => undefined);
      return settle(result);
    }
    if (state.value !== 'in') settle(result);
    return result;
  }

  /** A local login in a browser, as the desktop's main process answers it: the tokens kept in this tab, or why not. */
  async function inThisTab(obtain: () => Promise<SessionTokens>): Promise<LoginResult> {
    let obtained: SessionTokens;
    try {
      obtained = await obtain();
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal?.code && LOCAL_REFUSALS.includes(refusal.code)) return { ok: false, error: refusal.code as LocalLoginRefusal, message: refusal.detail, retryAfterSeconds: refusal.retryAfterSeconds };
      if (refusal?.status === 429) return { ok: false, error: 'too-many-attempts', message: refusal.detail, retryAfterSeconds: refusal.retryAfterSeconds };
      if (error instanceof NodeUnreachableError || error instanceof TypeError) return { ok: false, error: 'node_unreachable', message: String(error) };
      return { ok: false, error: error instanceof TokenRefused && error.error === 'invalid_grant' ? 'invalid_grant' : 'failed', message: String(error) };
    }
    const previous = tokens;
    keep(obtained);
    try {
      return { ok: true, user: await me(obtained.accessToken) };
    } catch (error) {
      keep(previous);
      return { ok: false, error: 'failed', message: String(error) };
    }
  }

  function settle(result: LoginResult): LoginResult {
    if (result.ok) {
      retryAfterSeconds.value = undefined;
      signedIn(result.user);
    } else if (state.value !== 'in') {
      state.value = 'out';
      problem.value = result.error === 'cancelled' ? undefined : result.error;
      retryAfterSeconds.value = result.retryAfterSeconds;
    }
    return result;
  }

  /** Back from the new-password form to the login form. */
  function abandonPasswordChange(): void {
    passwordChangeFor.value = undefined;
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

  /** The user as the node describes them now (after setting an offline password, say). */
  async function reloadUser(): Promise<void> {
    const token = await accessToken();
    if (token && state.value === 'in') user.value = await me(token);
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

  return {
    mode,
    state,
    user,
    problem,
    retryAfterSeconds,
    passwordChangeFor,
    loginScreen,
    providerLogoutUrl,
    isAdmin,
    userReference,
    loadLoginScreen,
    restore,
    login,
    loginWithPassword,
    changePassword,
    abandonPasswordChange,
    cancelLogin,
    logout,
    reloadUser,
    accessToken,
    fetchAsUser,
  };
});
