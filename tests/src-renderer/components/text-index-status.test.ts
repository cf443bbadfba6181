// @vitest-environment happy-dom
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import SettingsPage from '../../../src-renderer/pages/SettingsPage.vue';
import { CLAIRE, FakeNode, loggedIn, mountInApp, outcome, settle } from '../fake-node';

/** The node's status on the settings page, from `/health`: degraded with its reasons, resources the index left out. */

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
  node.on('GET', /^\/admin\/(peers|clients)$/, { status: 403, json: outcome('Only an admin may manage API clients, users and the audit trail') });
  node.on('GET', /^\/fhir\/\$conflicts$/, { json: { resourceType: 'Parameters' } });
});
afterEach(() => vi.unstubAllGlobals());

const health = (extra: Record<string, unknown>) => ({ version: '0.1.0', fhirVersion: '3.0.1', nodeId: 'n', schemaVersion: 1, resources: { total: 0, byType: {} }, ...extra });

it('says the node is degraded, and why', async () => {
  const reason = 'The text index thread stopped (out of memory); it restarts';
  node.on('GET', /^\/health$/, { json: health({ status: 'degraded', reasons: [reason], textIndex: { ready: false, state: 'restarting', notIndexed: 0 } }) });
  const { wrapper } = await mountInApp(SettingsPage, { pinia: await loggedIn(node, { ...CLAIRE, roles: ['secretary'] }) });
  await settle();
  const status = wrapper.find('[data-node-status]');
  expect(status.find('.badge.warn').text()).toBe('Dégradé');
  expect(status.text()).toContain(reason);
  expect(status.text()).toContain('Index en cours de construction');
});

it('counts the resources the text index left out, next to a running node', async () => {
  node.on('GET', /^\/health$/, { json: health({ status: 'ok', reasons: [], textIndex: { ready: true, state: 'ready', lagMs: 0, lagP95Ms: 3, notIndexed: 2 } }) });
  const { wrapper } = await mountInApp(SettingsPage, { pinia: await loggedIn(node, { ...CLAIRE, roles: ['secretary'] }) });
  await settle();
  const status = wrapper.find('[data-node-status]');
  expect(status.find('.badge.ok').text()).toBe('En service');
  expect(status.text()).toContain('2 ressource(s) non indexée(s)');
});
