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
  loginCancel: 'login:cancel',
  logout: 'logout',
  sessionGet: 'session:get',
  /** Main → window: the user when a session opens, null when it ends. */
  sessionChanged: 'session:changed',
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

const oneString =
  (what: string, maxLength: number, pattern?: RegExp) =>
  (args: readonly unknown[]): [string] => {
    const [value] = args;
    if (args.length !== 1 || typeof value !== 'string' || value.length === 0 || value.length > maxLength || (pattern && !pattern.test(value))) {
      throw new IpcPayloadError(`expected ${what}`);
    }
    return [value];
  };

/** Per channel: the arguments it accepts, checked and typed; anything else throws IpcPayloadError. */
export const PAYLOADS = {
  [IPC.nodeAccess]: noArguments,
  [IPC.nodeStatus]: noArguments,
  [IPC.openExternal]: oneString('a URL', 2048),
  [IPC.loginStart]: noArguments,
  [IPC.loginCancel]: noArguments,
  [IPC.logout]: noArguments,
  [IPC.sessionGet]: noArguments,
} satisfies Record<InvokeChannel, (args: readonly unknown[]) => unknown[]>;
