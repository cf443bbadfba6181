import { app, type BrowserWindow, dialog, safeStorage, shell } from 'electron';
import { join } from 'node:path';
import { APP_ORIGIN } from './app-protocol-files';
import { registerAppScheme, serveRenderer } from './app-protocol';
import { isNewFolder } from '../src-server/data-key';
import { desktopDataKey } from './desktop-data-key';
import { DesktopLogin } from './desktop-login';
import { denyPermissions, hardenWebContents } from './hardening';
import { IPC, originOf } from './ipc-contract';
import { registerIpc } from './ipc';
import { createMainWindow, reveal } from './main-window';
import { installMenu } from './menu';
import { windowTitle } from './node-status-text';
import { utilityProcessSpawner } from './node-process-spawner';
import { NodeSupervisor } from './node-supervisor';
import { askPassphrase } from './passphrase-prompt';
import { SecretStore } from './secret-store';
import { installTray } from './tray';
import { checkForUpdatesInBackground, checkForUpdatesNow } from './updater';

/** The main process: one instance, one window, the node in a utility process, a tray icon. */

const builtDir = import.meta.dirname; // out/main
// Set by `electron-vite dev` only; a packaged app always serves its own files.
const devServerUrl = app.isPackaged ? undefined : process.env['ELECTRON_RENDERER_URL'];
const resource = (name: string) => join(app.getAppPath(), 'resources/build', name);

// The same folder `liaison serve` uses by default (src-server/data-dir.ts), whatever the package name;
// Chromium's own caches go to a subfolder, away from the practice's data.
app.setPath('userData', join(app.getPath('appData'), 'Liaison'));
app.setPath('sessionData', join(app.getPath('userData'), 'Chromium'));
const dataDir = process.env['LIAISON_DATA'] || app.getPath('userData');

registerAppScheme();

if (!app.requestSingleInstanceLock()) {
  // Another Liaison runs on this data: it shows its window (second-instance below) and this one leaves.
  app.quit();
} else {
  let win: BrowserWindow | undefined;
  // On Linux without a keyring safeStorage "encrypts" with a constant key: that is no protection.
  const keychainAvailable = () => safeStorage.isEncryptionAvailable() && (process.platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text');
  const supervisor = new NodeSupervisor({
    spawn: utilityProcessSpawner(join(builtDir, 'node-process.js')),
    dataDir,
    dataKey: desktopDataKey(
      dataDir,
      { available: keychainAvailable, wrap: (key) => safeStorage.encryptString(key.toString('base64')), unwrap: (wrapped) => Buffer.from(safeStorage.decryptString(wrapped), 'base64') },
      () => askPassphrase(isNewFolder(dataDir)),
    ),
    appRoot: app.getAppPath(),
    corsOrigins: [devServerUrl ? originOf(devServerUrl)! : APP_ORIGIN],
  });
  const links = () => ({ nodeUrl: supervisor.status.url });
  const trustedOrigins = devServerUrl ? [originOf(devServerUrl)!] : [APP_ORIGIN];
  const savedLogin = new SecretStore(join(app.getPath('userData'), 'login.bin'), {
    isAvailable: keychainAvailable,
    encrypt: (text) => safeStorage.encryptString(text),
    decrypt: (data) => safeStorage.decryptString(data),
  });

  const login = new DesktopLogin({
    nodeUrl: () => supervisor.address(),
    // Called by the login itself with the provider's URL of this login (or its logout page): not the window's allow-list.
    openExternal: (url) => shell.openExternal(url),
    store: savedLogin,
  });
  login.onChange((user) => {
    if (win && !win.isDestroyed()) win.webContents.send(IPC.sessionChanged, user);
  });

  hardenWebContents(links);
  registerIpc({ supervisor, login, links, trustedOrigins });
  app.setAboutPanelOptions({ applicationName: 'Liaison', applicationVersion: app.getVersion(), copyright: 'Nœud FHIR local pour les cabinets médicaux' });

  const openWindow = () => {
    if (win && !win.isDestroyed()) return reveal(win);
    win = createMainWindow({
      url: devServerUrl ?? `${APP_ORIGIN}/index.html`,
      preload: join(builtDir, '../preload/index.cjs'),
      icon: resource('icon.png'),
      stateFile: join(app.getPath('userData'), 'window-state.json'),
    });
    win.setTitle(windowTitle(supervisor.status));
  };

  supervisor.onStatus((status) => {
    if (win && !win.isDestroyed()) {
      win.setTitle(windowTitle(status));
      win.webContents.send(IPC.nodeStatusChanged, status);
    }
    if (status.state === 'failed') void offerRetry(status.message); // message boxes do not reject
  });

  async function offerRetry(reason: string | undefined): Promise<void> {
    const options = {
      type: 'error' as const,
      message: 'Le nœud local de Liaison s’est arrêté et ne redémarre pas.',
      detail: `${reason ?? ''}\n\nVos données sont conservées dans ${dataDir}.`,
      buttons: ['Réessayer', 'Quitter'],
      defaultId: 0,
      cancelId: 1,
    };
    const { response } = win && !win.isDestroyed() ? await dialog.showMessageBox(win, options) : await dialog.showMessageBox(options);
    if (response === 0) supervisor.retry();
    else app.quit();
  }

  app.on('second-instance', openWindow);

  // Quitting waits for the node to stop: it finishes its writes and checkpoints the database.
  let nodeStopped = false;
  let stopping: Promise<void> | undefined;
  app.on('before-quit', (event) => {
    if (nodeStopped) return;
    event.preventDefault();
    login.cancel();
    stopping ??= supervisor.stop().finally(() => {
      nodeStopped = true;
      app.quit();
    });
  });

  app.on('window-all-closed', () => {
    // macOS keeps apps (and here the node) running without windows.
    if (process.platform !== 'darwin') app.quit();
  });

  // whenReady never rejects; a throw in the start-up below is a failure to start, left to Electron to report.
  void app.whenReady().then(() => {
    denyPermissions();
    serveRenderer(join(builtDir, '../renderer'));
    // checkForUpdatesNow answers its failures in a message box: it cannot reject.
    installMenu({ dataDir, checkForUpdates: () => void checkForUpdatesNow(), showAbout: () => app.showAboutPanel() });
    supervisor.start();
    installTray({ icon: resource('tray.png'), supervisor, open: openWindow, quit: () => app.quit() });
    openWindow();
    app.on('activate', openWindow);
    checkForUpdatesInBackground();
  });
}
