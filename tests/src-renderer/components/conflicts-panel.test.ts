// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import ConflictsPanel from '../../../src-renderer/components/ConflictsPanel.vue';
import { FakeNode, loggedIn, mountInApp, outcome, settle } from '../fake-node';
import { bookingConflictParameters, conflictParameters } from '../sync-fixtures';

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
      ['Nom name[0].family', 'Dupont', 'Dupond'],
      ['Téléphones et e-mails telecom', '(vide)', '06 01 02 03 04'],
    ]);
  });

  it('names every kind of record in words, never Type/id, and shows dates in the user’s time zone, not as ISO strings', async () => {
    const parameters = conflictParameters('a1');
    const conflict = parameters.parameter[0].part;
    conflict[0].valueReference = { reference: 'Appointment/a1' };
    const appointment = (versionId: string, start: string) => ({ resourceType: 'Appointment', id: 'a1', meta: { versionId, lastUpdated: '2026-11-20T09:58:00Z' }, status: 'booked', description: 'Renouvellement', start, participant: [] });
    conflict[3].part![2].resource = appointment('v-a', '2026-12-08T10:00:00Z') as never;
    conflict[4].part![2].resource = appointment('v-b', '2026-12-08T10:30:00Z') as never;
    conflict[5].part = [{ name: 'path', valueString: 'start' }, { name: 'value', part: [{ name: 'versionId', valueId: 'v-a' }, { name: 'json', valueString: '"2026-12-08T10:00:00Z"' }] }, { name: 'value', part: [{ name: 'versionId', valueId: 'v-b' }, { name: 'json', valueString: '"2026-12-08T10:30:00Z"' }] }];
    conflict[6].part = [{ name: 'path', valueString: 'participant' }, { name: 'value', part: [{ name: 'versionId', valueId: 'v-a' }, { name: 'json', valueString: JSON.stringify([{ actor: { reference: 'Patient/p9' }, status: 'accepted' }]) }] }, { name: 'value', part: [{ name: 'versionId', valueId: 'v-b' }] }];
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: parameters });
    const { wrapper } = await mountInApp(ConflictsPanel, { pinia: await loggedIn(node) });
    await settle();
    const text = wrapper.find('[data-conflict="Appointment/a1"]').text();
    expect(wrapper.find('[data-conflict="Appointment/a1"] h3').text()).toMatch(/^Rendez-vous Renouvellement — mar\. 8 déc\. 2026, \d\d:30 depuis le /);
    const [start, participant] = wrapper.findAll('[data-conflict="Appointment/a1"] tbody tr').map((row) => row.findAll('td').map((cell) => cell.text()));
    expect(start).toEqual([expect.stringMatching(/^mar\. 8 déc\. 2026, \d\d:00$/), expect.stringMatching(/^mar\. 8 déc\. 2026, \d\d:30$/)]);
    expect(participant).toEqual(['Qui : Fiche non visible, Statut : Accepté', '(vide)']);
    expect(text).not.toMatch(/Appointment\/|Patient\/|\d{4}-\d{2}-\d{2}T|Z\b/);
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
  it('says a booking conflict in words: “Conflit de réservation”, the practitioner, both patients, their local times, a link to each appointment', async () => {
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: { resourceType: 'Parameters', parameter: [...bookingConflictParameters().parameter!, ...conflictParameters().parameter] } });
    node.on('GET', /^\/fhir\/Practitioner\/martin$/, { json: { resourceType: 'Practitioner', id: 'martin', name: [{ family: 'Martin', given: ['Paul'], prefix: ['Dr'] }] } });
    node.on('GET', /^\/fhir\/Patient\/dupont$/, { json: { resourceType: 'Patient', id: 'dupont', name: [{ family: 'Dupont', given: ['Jeanne'] }] } });
    node.on('GET', /^\/fhir\/Patient\/durand$/, { status: 404, json: outcome('Patient/durand is not known') });
    const { wrapper } = await mountInApp(ConflictsPanel, { pinia: await loggedIn(node) });
    await settle();
    const booking = wrapper.find('[data-booking-conflict]');
    expect(booking.find('h3').text()).toMatch(/^Conflit de réservation Dr Paul MARTIN depuis le lun\. 7 déc\. 2026, \d\d:05$/);
    expect(booking.find('h3 .badge.danger').text()).toBe('Conflit de réservation');
    const lines = booking.findAll('li').map((line) => line.text().replace(/\s+/g, ' '));
    // The patient this user may not read is said so, never by its id.
    expect(lines).toEqual([expect.stringMatching(/^DUPONT Jeanne — mar\. 8 déc\. 2026, \d\d:00 – \d\d:30 · Réservé$/), expect.stringMatching(/^Patient non visible — mar\. 8 déc\. 2026, \d\d:10 – \d\d:40 · Réservé$/)]);
    expect(booking.findAll('li a').map((link) => link.attributes('href'))).toEqual(['/appointments?appointment=ap-1&date=2026-12-08', '/appointments?appointment=ap-2&date=2026-12-08']);
    expect(booking.text()).not.toMatch(/Appointment\/|Patient\/|Practitioner\/|\d{4}-\d{2}-\d{2}T|Z\b|booked/);
    // Each named record is read once, and the edit conflict beside it is shown as before.
    expect(node.callsTo('GET', /Practitioner\/martin/)).toHaveLength(1);
    expect(wrapper.find('[data-conflict="Patient/p1"] h3').text()).toContain('Patient DUPOND Jeanne');
  });
});
