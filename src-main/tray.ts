import { Menu, nativeImage, Tray } from 'electron';
import type { NodeSupervisor } from './node-supervisor';
import { describeNode, parseHealth, type NodeHealth } from './node-status-text';

const HEALTH_INTERVAL_MS = 15_000;

/** A tray icon whose tooltip and menu say how the node is, from the supervisor and the node's `/health`. */
export function installTray(options: { icon: string; supervisor: NodeSupervisor; open(): void; quit(): void }): Tray {
  const { supervisor } = options;
  const tray = new Tray(nativeImage.createFromPath(options.icon));
  let health: NodeHealth = {};

  const render = () => {
    const lines = describeNode(supervisor.status, health);
    tray.setToolTip(lines.join('\n'));
    tray.setContextMenu(
      Menu.buildFromTemplate([
        ...lines.map((label) => ({ label, enabled: false })),
        { type: 'separator' },
        { label: 'Ouvrir Liaison', click: options.open },
        ...(supervisor.status.state === 'failed' ? [{ label: 'Redémarrer le nœud', click: () => supervisor.retry() }] : []),
        { label: 'Quitter', click: options.quit },
      ]),
    );
  };
  const poll = async () => {
    const { url, state } = supervisor.status;
    if (state !== 'running' || !url) return;
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
      health = response.ok ? parseHealth(await response.json()) : {};
    } catch {
      health = {};
    }
    render();
  };

  supervisor.onStatus((status) => {
    if (status.state !== 'running') health = {};
    render();
    void poll(); // cannot reject: a failed /health reads as no health
  });
  // Unref'd: the tray lives as long as the app, and must not keep it from quitting.
  setInterval(() => void poll(), HEALTH_INTERVAL_MS).unref(); // as above: poll() cannot reject
  tray.on('click', options.open);
  render();
  return tray;
}
