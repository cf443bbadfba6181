// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import ConflictsPanel from '../../../src-renderer/components/ConflictsPanel.vue';
import { FakeNode, loggedIn, mountInApp, outcome, settle } from '../fake-node';
import { conflictParameters } from '../sync-fixtures';

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => vi.unstubAllGlobals());

describe('ConflictsPanel', () => {
  it('shows each version side by side where they differ, and which one everyone sees meanwhile', async () => {
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: conflictParameters() });
    const { wrapper } = await mountInApp(ConflictsPanel, { pinia: await loggedIn(node) });
    await settle();
    const conflict = wrapper.find('[data-conflict="Patient/p1"]');
    expect(conflict.find('h3').text()).toContain('Patient DUPOND Jeanne');
    expect(conflict.find('[data-version="v-b"]').text()).toContain('affichée');
    expect(conflict.find('[data-version="v-a"]').text()).not.toContain('affichée');
    const rows = conflict.findAll('tbody tr').map((row) => row.findAll('th, td').map((cell) => cell.text()));
    expect(rows).toEqual([
      ['name[0].family', 'Dupont', 'Dupond'],
      ['telecom', '(vide)', '[{"system":"phone","value":"0601020304"}]'],
    ]);
  });

  it('keeps a version through $resolve and says so; a 409 is said in words and the conflict shown anew', async () => {
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: { resourceType: 'Parameters', parameter: [...conflictParameters().parameter, ...conflictParameters('p2').parameter] } });
    node.on('POST', /^\/fhir\/Patient\/p1\/\$resolve$/, (call) => ({ json: (call.body as { parameter: Array<{ resource?: unknown }> }).parameter[0].resource }));
    node.on('POST', /^\/fhir\/Patient\/p2\/\$resolve$/, { status: 409, json: outcome('Patient/p2 has no open conflict') });
    node.on('GET', /^\/fhir\/Patient\/p2\/\$conflicts$/, { json: { resourceType: 'Parameters' } });
    const { wrapper } = await mountInApp(ConflictsPanel, { pinia: await loggedIn(node) });
    await settle();

    await wrapper.find('button[aria-label="Garder la version 1 de Patient DUPOND Jeanne"]').trigger('click');
    await settle();
    expect(node.callsTo('POST', /Patient\/p1\/\$resolve/)[0].body).toMatchObject({ parameter: [{ name: 'resource', resource: { meta: { versionId: 'v-a' } } }, { name: 'leaf', valueId: 'v-a' }, { name: 'leaf', valueId: 'v-b' }] });
    expect(wrapper.find('[data-conflict="Patient/p1"]').exists()).toBe(false);
    expect(wrapper.text()).toContain('Conflit résolu : Patient DUPOND Jeanne garde la version choisie.');

    await wrapper.find('[data-conflict="Patient/p2"] tfoot button').trigger('click');
    await settle();
    const alert = wrapper.find('[role="alert"]');
    expect(alert.text()).toContain('Le conflit sur Patient DUPOND Jeanne a changé entre-temps');
    expect(alert.text()).not.toContain('has no open conflict');
    expect(wrapper.find('[data-conflict="Patient/p2"]').exists()).toBe(false);
    expect(wrapper.text()).toContain('Aucun conflit à résoudre.');
  });
});
