import { ipcMain, shell, type IpcMainInvokeEvent } from 'electron';
import { isAllowedExternalUrl, type ExternalLinkContext } from './external-links';
import { IPC, IpcPayloadError, isTrustedSender, PAYLOADS, type InvokeChannel } from './ipc-contract';
import type { DesktopLogin } from './desktop-login';
import type { NodeSupervisor } from './node-supervisor';

export interface IpcServices {
  supervisor: NodeSupervisor;
  login: DesktopLogin;
  links: () => ExternalLinkContext;
  /** Origins whose top frame may call the main process (app://liaison, and the dev server in development). */
  trustedOrigins: readonly string[];
}

/** Registers every handler the preload calls; each checks its sender and its payload first. */
export function registerIpc({ supervisor, login, links, trustedOrigins }: IpcServices): void {
  function handle<C extends InvokeChannel>(channel: C, handler: (...args: ReturnType<(typeof PAYLOADS)[C]>) => unknown): void {
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      const frame = event.senderFrame;
      if (!isTrustedSender(frame && { url: frame.url, isMainFrame: frame === event.sender.mainFrame }, trustedOrigins)) {
        throw new Error(`${channel}: refused, the sender is not the app's window`);
      }
      let checked: ReturnType<(typeof PAYLOADS)[C]>;
      try {
        checked = PAYLOADS[channel](args) as ReturnType<(typeof PAYLOADS)[C]>;
      } catch (error) {
        throw error instanceof IpcPayloadError ? new Error(`${channel}: ${error.message}`) : error;
      }
      return handler(...checked);
    });
  }

  // The address only: the owner token stays here, the window calls the API with the user's session.
  handle(IPC.nodeAccess, async () => ({ url: await supervisor.address() }));
  handle(IPC.nodeStatus, () => supervisor.status);
  handle(IPC.openExternal, async (url) => {
    if (!isAllowedExternalUrl(url, links())) return false;
    await shell.openExternal(url);
    return true;
  });
  handle(IPC.loginStart, () => login.start());
  handle(IPC.loginPassword, (name, password) => login.loginWithPassword(name, password));
  handle(IPC.passwordChange, (name, password, newPassword) => login.changePassword(name, password, newPassword));
  handle(IPC.setupCode, () => supervisor.setupCode);
  handle(IPC.loginCancel, () => login.cancel());
  handle(IPC.logout, () => login.logout());
  handle(IPC.sessionGet, () => login.session());
}
