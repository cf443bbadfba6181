// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import SettingsPage from '../../../src-renderer/pages/SettingsPage.vue';
import { documentFileName } from '../../../src-renderer/format';
import { createAppI18n } from '../../../src-renderer/i18n';
import { describeScopes } from '../../../src-renderer/rights';
import { FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => vi.unstubAllGlobals());

const health = { status: 'ok', version: '0.1.0', fhirVersion: '3.0.1', nodeId: 'n', schemaVersion: 1, resources: { total: 7, byType: { Patient: 4, DocumentReference: 3 } }, textIndex: { ready: true } };

describe('Réglages names rights in words', () => {
  it('lists an API client’s rights by kind of data, offers a grid named in sentences, and sends the node’s scopes', async () => {
    const client = { clientId: 'c-1', name: 'Numérisation', role: 'client', scopes: ['PATIENT_READ', 'PATIENT_SEARCH', 'DOCUMENTREFERENCE_CREATE', 'SEND_TO_MSS'], createdAt: '2026-12-01T09:00:00Z' };
    node.on('GET', /^\/health$/, { json: health });
    node.on('GET', /^\/admin\/clients$/, { json: { clients: [client] } });
    node.on('GET', /^\/admin\/(users|identity|peers)$/, { status: 403, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden' }] } });
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: { resourceType: 'Parameters' } });
    node.on('POST', /^\/admin\/clients$/, { json: { client_id: 'c-2', client_secret: 's' } });
    const { wrapper } = await mountInApp(SettingsPage, { pinia: await loggedIn(node) });
    await settle();

    expect(wrapper.findAll('.clients .scopes li').map((line) => line.text())).toEqual(['Dossiers des patients : lire, rechercher', 'Documents : créer', 'Envoyer par messagerie sécurisée (MSSanté)']);
    expect(wrapper.get('[data-node-status]').text()).toContain('Dossiers des patients 4');
    expect(wrapper.text()).not.toMatch(/PATIENT_|DOCUMENTREFERENCE_|SEND_TO_MSS|DocumentReference/);

    const grid = wrapper.get('table.rights');
    expect(grid.findAll('thead th').map((header) => header.text())).toEqual(['Lire', 'Rechercher', 'Créer', 'Modifier']);
    expect(grid.findAll('tbody th').map((header) => header.text())).toContain('Demandes d’envoi');
    await wrapper.get('input[name="client-name"]').setValue('Agenda');
    await grid.get('input[aria-label="Lire les dossiers des patients"]').setValue(true);
    await grid.get('input[aria-label="Modifier les rendez-vous"]').setValue(true);
    await wrapper.get('form.new-client').trigger('submit');
    await settle();
    expect(node.callsTo('POST', /^\/admin\/clients$/)[0].body).toEqual({ name: 'Agenda', scopes: ['PATIENT_READ', 'APPOINTMENT_UPDATE'] });
  });

  it('says rights in English for the English UI, and an unknown right as another right', () => {
    const { t } = createAppI18n('en').global;
    expect(describeScopes(t, ['APPOINTMENT_READ', 'APPOINTMENT_CREATE', 'SYNC', 'OBSERVATION_READ'])).toEqual(['Appointments: read, create', 'Synchronise with this node', 'Other right (OBSERVATION_READ)']);
  });
});

describe('a document’s file name', () => {
  it('is its title and its day, without the characters file systems refuse', () => {
    const day = new Date('2026-06-02T10:00:00');
    expect(documentFileName('Compte rendu du 2 juin', day.toISOString(), 'document')).toBe('Compte rendu du 2 juin - 02-06-2026.pdf');
    expect(documentFileName('Biologie 12/05 : "NFS"?', day.toISOString(), 'document')).toBe('Biologie 12 05 NFS - 02-06-2026.pdf');
    expect(documentFileName('../..', undefined, 'document')).toBe('document.pdf');
    expect(documentFileName(undefined, 'pas une date', 'document')).toBe('document.pdf');
  });
});
