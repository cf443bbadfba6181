/**
 * The IPC between the window (through the preload) and the main process: channel names, and the checks every
 * handler runs before doing anything. Whatever a page sends is untrusted: the sender must be the app's own top frame
 * and the payload exactly what the channel takes.
 */

export const IPC = {
  nodeAccess: 'node:access',
  nodeStatus: 'node:status',
  /** Main → window. */
  nodeStatusChanged: 'node:status-changed',
  openExternal: 'shell:open-external',
  /** The login runs in the main process: the window starts it and gets the result, never the refresh token. */
  loginStart: 'login:start',
  /** A local account's login and password, and its password change: run by the main process, which keeps the tokens. */
  loginPassword: 'login:password',
  passwordChange: 'login:change-password',
  loginCancel: 'login:cancel',
  logout: 'logout',
  sessionGet: 'session:get',
  /** Main → window: the user when a session opens, null when it ends. */
  sessionChanged: 'session:changed',
  /** The data folder's first-run set-up code, from the node's `ready` message. */
  setupCode: 'setup:code',
} as const;

/** Channels the main process sends on; the window cannot invoke them. */
type EventChannel = typeof IPC.nodeStatusChanged | typeof IPC.sessionChanged;
export type InvokeChannel = Exclude<(typeof IPC)[keyof typeof IPC], EventChannel>;

export interface IpcSender {
  /** URL of the frame that sent the message. */
  url: string;
  /** False for iframes: only the app's top frame may call the main process. */
  isMainFrame: boolean;
}

/** `app://liaison/x` → `app://liaison` (URL.origin is "null" for schemes the URL standard does not know). */
export function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.host ? `${parsed.protocol}//${parsed.host}` : undefined;
  } catch {
    return undefined;
  }
}

export function isTrustedSender(sender: IpcSender | null | undefined, trustedOrigins: readonly string[]): boolean {
  if (!sender?.isMainFrame) return false;
  const origin = originOf(sender.url);
  return origin !== undefined && trustedOrigins.includes(origin);
}

export class IpcPayloadError extends Error {}

const noArguments = (args: readonly unknown[]): [] => {
  if (args.length !== 0) throw new IpcPayloadError('this call takes no argument');
  return [];
};

/** Exactly these strings, each non-empty and within its length. */
const strings =
  <const S extends ReadonlyArray<readonly [what: string, maxLength: number]>>(...specs: S) =>
  (args: readonly unknown[]): { -readonly [K in keyof S]: string } => {
    const expected = specs.map(([what]) => what).join(', ');
    if (args.length !== specs.length) throw new IpcPayloadError(`expected ${expected}`);
    specs.forEach(([what, maxLength], index) => {
      const value = args[index];
      if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) throw new IpcPayloadError(`expected ${what}`);
    });
    return [...args] as { -readonly [K in keyof S]: string };
  };

const LOGIN_LENGTH = 200;
const PASSWORD_LENGTH = 1024;

/** Per channel: the arguments it accepts, checked and typed; anything else throws IpcPayloadError. */
export const PAYLOADS = {
  [IPC.nodeAccess]: noArguments,
  [IPC.nodeStatus]: noArguments,
  [IPC.openExternal]: strings(['a URL', 2048]),
  [IPC.loginStart]: noArguments,
  [IPC.loginPassword]: strings(['a login', LOGIN_LENGTH], ['a password', PASSWORD_LENGTH]),
  [IPC.passwordChange]: strings(['a login', LOGIN_LENGTH], ['the current password', PASSWORD_LENGTH], ['the new password', PASSWORD_LENGTH]),
  [IPC.loginCancel]: noArguments,
  [IPC.logout]: noArguments,
  [IPC.sessionGet]: noArguments,
  [IPC.setupCode]: noArguments,
} satisfies Record<InvokeChannel, (args: readonly unknown[]) => unknown[]>;
