import { ipcMain, shell, type IpcMainInvokeEvent } from 'electron';
import { isAllowedExternalUrl, type ExternalLinkContext } from './external-links';
import { IPC, IpcPayloadError, isTrustedSender, PAYLOADS, type InvokeChannel } from './ipc-contract';
import type { NodeSupervisor } from './node-supervisor';
import type { SecretStore } from './secret-store';

export interface IpcServices {
  supervisor: NodeSupervisor;
  savedLogin: SecretStore;
  links: () => ExternalLinkContext;
  /** Origins whose top frame may call the main process (app://liaison, and the dev server in development). */
  trustedOrigins: readonly string[];
}

/** Registers every handler the preload calls; each checks its sender and its payload first. */
export function registerIpc({ supervisor, savedLogin, links, trustedOrigins }: IpcServices): void {
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

  handle(IPC.nodeAccess, () => supervisor.access());
  handle(IPC.nodeStatus, () => supervisor.status);
  handle(IPC.openExternal, async (url) => {
    if (!isAllowedExternalUrl(url, links())) return false;
    await shell.openExternal(url);
    return true;
  });
  handle(IPC.loginSave, (secret) => savedLogin.save(secret));
  handle(IPC.loginLoad, () => savedLogin.load());
  handle(IPC.loginClear, () => savedLogin.clear());
}
