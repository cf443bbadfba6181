import { describe, expect, it } from 'vitest';
import { describeNode, parseHealth, windowTitle } from '../../src-main/node-status-text';

describe('parseHealth', () => {
  it('reads the resource count of the node /health, and index and sync when reported', () => {
    expect(parseHealth({ status: 'ok', resources: { total: 1234, byType: {} } })).toEqual({ resources: 1234 });
    expect(parseHealth({ resources: { total: 1 }, textIndex: { ready: true, lagMs: 3 }, sync: { state: 'à jour' } })).toEqual({ resources: 1, indexLagMs: 3, sync: 'à jour' });
    expect(parseHealth('nonsense')).toEqual({});
    expect(parseHealth({ resources: 'many', textIndex: null })).toEqual({});
  });
});

describe('describeNode', () => {
  it('says how the node is, in French', () => {
    expect(describeNode({ state: 'running', url: 'http://127.0.0.1:1', restarts: 0 }, { resources: 1234, indexLagMs: 4 })).toEqual([
      'Liaison : nœud en marche',
      '1\u202f234 ressources',
      'Index de recherche à jour',
    ]);
    expect(describeNode({ state: 'running', restarts: 2 }, { indexLagMs: 12_400, sync: 'en retard' })).toEqual([
      'Liaison : nœud en marche',
      'Index de recherche en retard de 12 s',
      'Synchronisation : en retard',
      "Redémarré 2 fois depuis l'ouverture",
    ]);
    expect(describeNode({ state: 'failed', restarts: 5, message: 'disk full' })).toEqual(['Liaison : nœud en panne', "Redémarré 5 fois depuis l'ouverture", 'disk full']);
  });

  it('says when the node had to take another port than the one it wanted', () => {
    expect(describeNode({ state: 'running', url: 'http://127.0.0.1:8348', restarts: 0, preferredPort: 8347 })).toEqual(['Liaison : nœud en marche', 'Port 8347 déjà pris : nœud sur le port 8348']);
    expect(describeNode({ state: 'running', url: 'http://127.0.0.1:8347', restarts: 0, preferredPort: 8347 })).toEqual(['Liaison : nœud en marche']);
    expect(describeNode({ state: 'restarting', restarts: 1, preferredPort: 8347 })).toEqual(['Liaison : nœud arrêté, redémarrage…', "Redémarré 1 fois depuis l'ouverture"]);
  });

  it('titles the window with what is wrong', () => {
    expect(windowTitle({ state: 'running', restarts: 0 })).toBe('Liaison');
    expect(windowTitle({ state: 'restarting', restarts: 1 })).toBe('Liaison — nœud arrêté, redémarrage…');
    expect(windowTitle({ state: 'running', restarts: 1 })).toBe('Liaison (nœud redémarré après un arrêt inattendu)');
  });
});
