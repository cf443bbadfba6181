import { app, session, shell, type WebContents } from 'electron';
import { isAllowedExternalUrl, type ExternalLinkContext } from './external-links';

/**
 * Electron's security checklist, applied to every web contents the app ever creates: no navigation away from the
 * app, no new windows, no webviews, no permission (camera, notifications, USB…) granted. Links to allow-listed sites
 * open in the system browser instead.
 */
export function hardenWebContents(links: () => ExternalLinkContext): void {
  app.enableSandbox();
  const openInBrowser = (url: string) => {
    if (isAllowedExternalUrl(url, links())) shell.openExternal(url).catch((error: unknown) => console.warn('The link could not be opened:', error));
  };
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event, url) => {
      event.preventDefault();
      openInBrowser(url);
    });
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      openInBrowser(url);
      return { action: 'deny' };
    });
  });
}

export function denyPermissions(): void {
  const { defaultSession } = session;
  defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  defaultSession.setPermissionCheckHandler(() => false);
  defaultSession.setDevicePermissionHandler(() => false);
}
