/**
 * API exposed by the preload script on `window.liaison` (contextBridge).
 * Shared by the preload (tsconfig.node.json) and the renderer (tsconfig.web.json).
 * Only serialisable data and functions may cross the bridge.
 */
export interface LiaisonBridge {
  /** Application version (package.json), fixed at build time. */
  readonly version: string;
  /**
   * The node's address. Ask again rather than keeping it: it may change after a restart. The node's own per-launch
   * owner token stays in the main process; the FHIR API is called with the user's access token (`session()`).
   */
  nodeAccess(): Promise<NodeAccess>;
  /** Where the node stands (running, restarting after a crash, stopped…). */
  nodeStatus(): Promise<NodeStatus>;
  /** Called on every change of the node's status; returns the function that unsubscribes. */
  onNodeStatus(listener: (status: NodeStatus) => void): () => void;
  /** Opens an allow-listed address (the node's login page, the national directory…) in the system browser. */
  openExternal(url: string): Promise<boolean>;
  /**
   * Logs the user in through the system browser (the main process opens the provider's page and waits): resolves
   * once they are done there, refused, or `cancelLogin()` was called. Starting again replaces a login still waiting.
   */
  login(): Promise<LoginResult>;
  /**
   * Logs in with a local account (login and password of this node), run by the main process as the provider login
   * is: PKCE, `POST /auth/password`, the tokens kept there. `password-change-required` means: call `changePassword`.
   */
  loginWithPassword(login: string, password: string): Promise<LoginResult>;
  /** Sets a local account's new password (forced after a reset, or the user's choice), then opens its session. */
  changePassword(login: string, password: string, newPassword: string): Promise<LoginResult>;
  /** The data folder's set-up code while it has no user yet (the first-run screen sends it), else null. */
  setupCode(): Promise<string | null>;
  /** Stops the login waiting for the user; false when none was. */
  cancelLogin(): Promise<boolean>;
  /** Ends the session (at the node too) and forgets it on this computer. */
  logout(): Promise<void>;
  /**
   * The user's access token for the node's API, and who they are; null when nobody is logged in. Ask again before
   * calls rather than keeping it: the main process refreshes it before it expires.
   */
  session(): Promise<Session | null>;
  /** Called with the user when a session opens, null when it ends; returns the function that unsubscribes. */
  onSessionChange(listener: (user: SessionUser | null) => void): () => void;
}

export interface NodeAccess {
  /** `http://127.0.0.1:<port>`; the FHIR base is `${url}/fhir`. */
  url: string;
}

/** The logged-in user, as `GET /auth/me` describes them (the fields the window needs). */
export interface SessionUser {
  id: string;
  displayName: string;
  email?: string;
  practitionerId?: string;
  roles: string[];
  organizations: string[];
  /** The login of the user's local account (their only way in, or their offline password beside the provider). */
  localLogin?: string;
  /** A provider's user who may set a local password, to log in when the provider cannot be reached. */
  canSetLocalPassword?: boolean;
}

export interface Session {
  /** Bearer token for the node's API, for this user's session. */
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  user: SessionUser;
}

/**
 * Why a login did not succeed: cancelled by the app; refused at the provider (`access_denied`); expired, replaced by
 * a newer login or not checked out at the node (`invalid_grant`); the provider, or the node, could not be reached; no
 * provider configured on the node; the user never came back (`timeout`); anything else (`failed`). A local account's
 * login is refused with the node's own codes (docs/login.md): wrong login or password, account disabled, local
 * accounts turned off on this node, a new
 * password to choose first, too many failed attempts from here (`retryAfterSeconds`), a new password too short, too
 * long or the same as the old one.
 */
export type LoginErrorCode =
  | 'cancelled'
  | 'access_denied'
  | 'invalid_grant'
  | 'provider_unreachable'
  | 'node_unreachable'
  | 'no_provider'
  | 'timeout'
  | 'failed'
  | LocalLoginRefusal;

export type LocalLoginRefusal =
  | 'bad-credentials'
  | 'account-disabled'
  | 'local-accounts-off'
  | 'password-change-required'
  | 'too-many-attempts'
  | 'password-too-short'
  | 'password-too-long'
  | 'password-unchanged';

export type LoginResult = { ok: true; user: SessionUser } | { ok: false; error: LoginErrorCode; message: string; retryAfterSeconds?: number };

export type NodeState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface NodeStatus {
  state: NodeState;
  /** While running. */
  url?: string;
  /** Restarts after a crash since the app started. */
  restarts: number;
  /** When restarting: the delay before the next start. */
  retryInMs?: number;
  /** Why the node stopped or failed, in words for the user. */
  message?: string;
  /**
   * Only while the node listens on another port than the one it wanted (taken by another program, or by another
   * user's Liaison on this computer): the port it wanted. The practice's software configured for it must be told.
   */
  preferredPort?: number;
}
