import { BrowserWindow, screen } from 'electron';
import { readWindowState, restoreWindowState, writeWindowState, MIN_WINDOW_SIZE, type WindowState } from './window-state';

export interface MainWindowOptions {
  url: string;
  preload: string;
  icon: string;
  stateFile: string;
}

/** The app's window, opened where it was left, saving its place as it moves (at most every half second). */
export function createMainWindow({ url, preload, icon, stateFile }: MainWindowOptions): BrowserWindow {
  const state = restoreWindowState(
    readWindowState(stateFile),
    screen.getAllDisplays().map((display) => display.workArea),
  );
  const win = new BrowserWindow({
    ...state,
    minWidth: MIN_WINDOW_SIZE.width,
    minHeight: MIN_WINDOW_SIZE.height,
    show: false,
    title: 'Liaison',
    icon,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: true,
    },
  });
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  // The title says how the node is (index.ts); the page does not override it.
  win.on('page-title-updated', (event) => event.preventDefault());

  let timer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    clearTimeout(timer);
    if (win.isDestroyed() || win.isMinimized()) return;
    const bounds = win.getNormalBounds();
    const next: WindowState = { ...bounds, maximized: win.isMaximized() };
    writeWindowState(stateFile, next);
  };
  const saveSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(save, 500);
  };
  for (const event of ['resize', 'move', 'maximize', 'unmaximize'] as const) win.on(event as 'resize', saveSoon);
  win.on('close', save);

  // Rejects when the page cannot load (or a navigation replaces it): said in the log, the window stays.
  win.loadURL(url).catch((error: unknown) => console.warn('The window could not load the UI:', error));
  return win;
}

/** Brings the window to the front (a second launch of the app, a click on the tray). */
export function reveal(win: BrowserWindow | undefined): void {
  if (!win || win.isDestroyed()) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}
