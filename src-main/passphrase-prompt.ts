import { BrowserWindow } from 'electron';

/**
 * Asks the data folder's passphrase where the system has no keyring to keep the data key (Linux without a Secret
 * Service: safeStorage's 'basic_text'), as the desktop login does without one. A small sandboxed window with no
 * preload: the page hands the passphrase back through its title (a navigation would be refused by hardening.ts), and
 * the window is destroyed at once. Closing it refuses: the node then does not start, and says why.
 */
export function askPassphrase(firstTime: boolean): Promise<string> {
  const html = `<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Liaison</title><style>body{font:14px system-ui,sans-serif;margin:24px}input{width:100%;padding:6px;margin:12px 0}</style></head>
<body><form id="f"><p>${
    firstTime
      ? 'Cet ordinateur n’a pas de trousseau de clés : choisissez une phrase secrète pour protéger les données du cabinet. Elle sera demandée à chaque démarrage.'
      : 'Saisissez la phrase secrète qui protège les données du cabinet.'
  }</p><input id="p" type="password" autofocus minlength="${firstTime ? 12 : 1}" required><button>Ouvrir</button></form>
<script>document.getElementById('f').addEventListener('submit',function(e){e.preventDefault();document.title='passphrase:'+document.getElementById('p').value;});</script></body></html>`;
  const win = new BrowserWindow({
    width: 460,
    height: 260,
    title: 'Liaison',
    resizable: false,
    webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false },
  });
  return new Promise((resolve, reject) => {
    let answered = false;
    win.on('page-title-updated', (event, title) => {
      event.preventDefault();
      if (!title.startsWith('passphrase:')) return;
      answered = true;
      resolve(title.slice('passphrase:'.length));
      win.destroy();
    });
    win.on('closed', () => {
      if (!answered) reject(new Error('La phrase secrète n’a pas été saisie / No passphrase was given: the data stays locked.'));
    });
    void win.loadURL(`data:text/html;charset=utf-8,${encodeURIComponent(html)}`);
  });
}
