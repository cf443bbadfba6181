// @vitest-environment happy-dom
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import DirectoryPage from '../../../src-renderer/pages/DirectoryPage.vue';
import SettingsPage from '../../../src-renderer/pages/SettingsPage.vue';
import { CLAIRE, FakeNode, loggedIn, mountInApp, outcome, settle } from '../fake-node';

/**
 * What the UI says of the text index: the node's status on the settings page, from `/health` (degraded with its
 * reasons, resources the index left out), and a search the index cannot answer yet (503).
 */

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

it('says what is failing in French by the part it comes from, the node’s English beside it', async () => {
  const problems = [
    { part: 'text-index', reason: 'The text index thread stopped (out of memory); it restarts' },
    { part: 'channel:mssante', reason: "The mssante channel's last 5 delivery attempts failed; the last: 421 try later" },
    { part: 'outbox', reason: '3 document deliveries have been due for more than 10 min without being attempted' },
    { part: 'backup-drive', reason: 'Something new' },
  ];
  node.on('GET', /^\/health$/, { json: health({ status: 'degraded', reasons: problems.map((problem) => problem.reason), problems, textIndex: { ready: false, state: 'restarting', notIndexed: 0 } }) });
  const { wrapper } = await mountInApp(SettingsPage, { pinia: await loggedIn(node, { ...CLAIRE, roles: ['secretary'] }) });
  await settle();
  const said = wrapper.findAll('[data-health-problem]').map((problem) => problem.text());
  expect(said).toEqual([
    expect.stringMatching(/^La recherche par nom est en cours de reconstruction ou en retard.*Détail.*out of memory/),
    expect.stringMatching(/^Les derniers envois par « MSSanté » ont échoué\..*421 try later/),
    expect.stringMatching(/^L’envoi des documents est bloqué ou en retard/),
    expect.stringMatching(/^Une partie du nœud est en difficulté\..*Something new/),
  ]);
});

it('counts the resources the text index left out, next to a running node', async () => {
  node.on('GET', /^\/health$/, { json: health({ status: 'ok', reasons: [], textIndex: { ready: true, state: 'ready', lagMs: 0, lagP95Ms: 3, notIndexed: 2 } }) });
  const { wrapper } = await mountInApp(SettingsPage, { pinia: await loggedIn(node, { ...CLAIRE, roles: ['secretary'] }) });
  await settle();
  const status = wrapper.find('[data-node-status]');
  expect(status.find('.badge.ok').text()).toBe('En service');
  expect(status.text()).toContain('2 ressource(s) non indexée(s)');
});

it('says a search is momentarily unavailable while the text index restarts', async () => {
  const diagnostics = 'The text index thread stopped (out of memory); it restarts, and name, address, _content and _text searches answer 503 meanwhile';
  node.on('GET', /^\/fhir\/(Practitioner|Organization)\?/, { status: 503, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics }] } });
  const { wrapper } = await mountInApp(DirectoryPage, { pinia: await loggedIn(node) });
  await wrapper.get('input[role="combobox"]').setValue('mart');
  await settle();
  expect(wrapper.get('[role="alert"]').text()).toContain('Momentanément indisponible : réessayez dans quelques secondes.');
  expect(wrapper.get('[role="alert"]').text()).not.toContain('text index thread');
});
