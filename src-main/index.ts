import { join } from 'node:path';
import { app, BrowserWindow, session } from 'electron';

const preloadPath = join(import.meta.dirname, '../preload/index.cjs');
const rendererIndex = join(import.meta.dirname, '../renderer/index.html');
// Set by `electron-vite dev` only; ignored in a packaged app.
const devServerUrl = app.isPackaged ? undefined : process.env['ELECTRON_RENDERER_URL'];

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    show: false,
    title: 'Liaison',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  win.once('ready-to-show', () => win.show());

  if (devServerUrl) {
    void win.loadURL(devServerUrl);
  } else {
    void win.loadFile(rendererIndex);
  }
}

// Applies to every webContents (windows, future webviews): no navigation away
// from the loaded page, no new windows.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

void app.whenReady().then(() => {
  // Deny every permission request (camera, notifications, geolocation, ...).
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));

  // The embedded FHIR node (src-server) will be started here, in a utilityProcess.

  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});
