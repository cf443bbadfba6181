import type { NodeStatus } from './preload/bridge';

/**
 * The words the tray and the window title use about the node: its state from the supervisor, and what its `/health` reports (resource
 * count, the text index's lag (`textIndex.lagMs`), and sync once the node reports it).
 */

export interface NodeHealth {
  resources?: number;
  /** How far the background search index is behind the writes. */
  indexLagMs?: number;
  /** The sync state in the node's own words. */
  sync?: string;
}

/** Reads what the tray needs from a `/health` body, ignoring anything unexpected. */
export function parseHealth(body: unknown): NodeHealth {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const health: NodeHealth = {};
  const resources = (record.resources as Record<string, unknown> | undefined)?.total;
  if (typeof resources === 'number') health.resources = resources;
  const lag = (record.textIndex as Record<string, unknown> | undefined)?.lagMs;
  if (typeof lag === 'number') health.indexLagMs = lag;
  const sync = record.sync;
  const syncState = typeof sync === 'string' ? sync : (sync as Record<string, unknown> | undefined)?.state;
  if (typeof syncState === 'string') health.sync = syncState;
  return health;
}

const STATES: Record<NodeStatus['state'], string> = {
  starting: 'démarrage du nœud…',
  running: 'nœud en marche',
  restarting: 'nœud arrêté, redémarrage…',
  stopping: 'arrêt du nœud…',
  stopped: 'nœud arrêté',
  failed: 'nœud en panne',
};

const count = (value: number) => value.toLocaleString('fr-FR');

/** One line per fact, the first being the node's state. */
export function describeNode(status: NodeStatus, health: NodeHealth = {}): string[] {
  const lines = [`Liaison : ${STATES[status.state]}`];
  const taken = portTaken(status);
  if (taken) lines.push(`Port ${taken.preferredPort} déjà pris : nœud sur le port ${taken.port}`);
  if (status.state === 'running') {
    if (health.resources !== undefined) lines.push(`${count(health.resources)} ressource${health.resources > 1 ? 's' : ''}`);
    if (health.indexLagMs !== undefined) lines.push(health.indexLagMs < 1000 ? 'Index de recherche à jour' : `Index de recherche en retard de ${Math.round(health.indexLagMs / 1000)} s`);
    if (health.sync !== undefined) lines.push(`Synchronisation : ${health.sync}`);
  }
  if (status.restarts > 0) lines.push(`Redémarré ${status.restarts} fois depuis l'ouverture`);
  if ((status.state === 'failed' || status.state === 'restarting') && status.message) lines.push(status.message);
  return lines;
}

/** While the node runs on another port than the one it wanted (taken): both ports. */
export function portTaken(status: NodeStatus): { preferredPort: number; port: number } | undefined {
  if (status.state !== 'running' || status.preferredPort === undefined || !status.url) return undefined;
  const port = Number(new URL(status.url).port);
  return port === status.preferredPort ? undefined : { preferredPort: status.preferredPort, port };
}

/** The window's title: the app's name, and what is wrong with the node when something is. */
export function windowTitle(status: NodeStatus): string {
  if (status.state === 'running') return status.restarts > 0 ? 'Liaison (nœud redémarré après un arrêt inattendu)' : 'Liaison';
  return `Liaison — ${STATES[status.state]}`;
}
