// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FhirApiError } from '../../../src-renderer/api/fhir-client';
import type { Patient } from '../../../src-renderer/api/fhir-types';
import CareTimeline from '../../../src-renderer/components/CareTimeline.vue';
import DirectoryCard from '../../../src-renderer/components/DirectoryCard.vue';
import ErrorMessage from '../../../src-renderer/components/ErrorMessage.vue';
import PatientBanner from '../../../src-renderer/components/PatientBanner.vue';
import PatientForm from '../../../src-renderer/components/PatientForm.vue';
import { MSSANTE_EXTENSION } from '../../../src-renderer/format';
import DirectoryPage from '../../../src-renderer/pages/DirectoryPage.vue';
import LoginPage from '../../../src-renderer/pages/LoginPage.vue';
import { useSessionStore } from '../../../src-renderer/stores/session';
import { toTimeline, type TimelineItem } from '../../../src-renderer/stores/patients';
import type { DirectoryEntry } from '../../../src-renderer/stores/directory';
import { bundle, FakeNode, loggedIn, loginConfig, mountInApp, PSC, settle } from '../fake-node';

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => vi.unstubAllGlobals());

const mailbox = (value: string) => ({ system: 'email' as const, value, use: 'work', extension: [{ url: MSSANTE_EXTENSION, extension: [{ url: 'type', valueCode: 'PER' }] }] });
const ENTRY: DirectoryEntry = {
  kind: 'practitioner',
  key: 'Practitioner/pp-1',
  practitioner: { resourceType: 'Practitioner', id: 'pp-1', name: [{ family: 'ROUSSEL', given: ['CÉLINE'], prefix: ['Dr'] }], identifier: [{ system: 'https://rpps.esante.gouv.fr', value: '10100000183' }], telecom: [mailbox('celine.roussel@medecin.mssante.fr')] },
  roles: [
    {
      role: { resourceType: 'PractitionerRole', id: 'r1', code: [{ coding: [{ display: 'Médecin' }] }], specialty: [{ coding: [{ display: 'Pédiatrie' }] }], telecom: [{ system: 'phone', value: '0326123456' }] },
      organization: { resourceType: 'Organization', id: 'o1', name: 'CABINET MÉDICAL ROUSSEL', address: [{ line: ['12 RUE PASTEUR'], postalCode: '51100', city: 'REIMS' }], telecom: [mailbox('secretariat@cabinet.mssante.fr')] },
    },
  ],
  rolesKnown: true,
};

describe('DirectoryCard', () => {
  it('shows roles, address, phones and MSSanté addresses with copy buttons, and starts sending a document', async () => {
    const { wrapper } = await mountInApp(DirectoryCard, { props: { entry: ENTRY }, pinia: await loggedIn(node) });
    const text = wrapper.text();
    expect(text).toContain('Dr Céline ROUSSEL');
    expect(text).toContain('RPPS 10100000183');
    expect(text).toContain('Médecin — Pédiatrie');
    expect(text).toContain('12 Rue Pasteur, 51100 Reims');
    expect(text).toContain('03 26 12 34 56');
    expect(wrapper.findAll('a[href^="mailto:"]').map((link) => link.text())).toEqual(['celine.roussel@medecin.mssante.fr', 'secretariat@cabinet.mssante.fr']);
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await wrapper.find('button[aria-label="Copier celine.roussel@medecin.mssante.fr"]').trigger('click');
    expect(writeText).toHaveBeenCalledWith('celine.roussel@medecin.mssante.fr');
    await wrapper.findAll('button').find((button) => button.text() === 'Envoyer un document à…')!.trigger('click');
    expect(wrapper.emitted('send')).toEqual([[{ reference: 'Practitioner/pp-1', display: 'Dr Céline ROUSSEL' }]]);
  });
});

describe('DirectoryPage', () => {
  it('searches as the user types, moves through results with the arrows and opens the card with Enter', async () => {
    node.on('GET', /^\/fhir\/Practitioner\?name=rous\+rei/, { json: bundle(ENTRY.kind === 'practitioner' ? (ENTRY.practitioner as never) : {}, { resourceType: 'Practitioner', id: 'pp-2', name: [{ family: 'ROUSSEAU', given: ['SARAH'] }] }) });
    node.on('GET', /^\/fhir\/Organization\?/, { json: bundle() }).on('GET', /^\/fhir\/PractitionerRole\?/, { json: bundle() });
    const { wrapper } = await mountInApp(DirectoryPage, { pinia: await loggedIn(node), attachTo: document.body });
    const box = wrapper.get('input[role="combobox"]');
    await box.setValue('rous rei');
    await settle();
    const options = wrapper.findAll('[role="option"]');
    expect(options.map((option) => option.find('.title').text())).toEqual(['Dr Céline ROUSSEL', 'Sarah ROUSSEAU']);
    expect(wrapper.get('[role="listbox"]').attributes('data-results-for')).toBe('rous rei');
    await box.trigger('keydown', { key: 'ArrowDown' });
    await box.trigger('keydown', { key: 'ArrowDown' });
    expect(box.attributes('aria-activedescendant')).toBe('directory-option-1');
    await box.trigger('keydown', { key: 'Enter' });
    expect(wrapper.get('article h2').text()).toBe('Sarah ROUSSEAU');
    wrapper.unmount();
  });

  it('says in words when the search cannot be made', async () => {
    node.on('GET', /^\/fhir\/(Practitioner|Organization)\?/, { status: 429, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled', diagnostics: 'Too many requests: retry in 1 s' }] } });
    const { wrapper } = await mountInApp(DirectoryPage, { pinia: await loggedIn(node) });
    await wrapper.get('input[role="combobox"]').setValue('mart');
    await settle();
    expect(wrapper.get('[role="alert"]').text()).toContain('Trop de demandes à la fois : patientez un instant.');
    expect(wrapper.get('[role="alert"]').text()).not.toContain('Too many requests');
  });
});

describe('ErrorMessage', () => {
  it('gives the status in plain French, never the node’s English text or a stack', async () => {
    const error = new FhirApiError(409, 'Dr Claire Martin is already booked from 10:00 to 10:30');
    const retry = vi.fn();
    const { wrapper } = await mountInApp(ErrorMessage, { props: { error, retry }, pinia: await loggedIn(node) });
    expect(wrapper.text()).toContain('Conflit : ce créneau ou cet élément est déjà pris.');
    expect(wrapper.text()).not.toContain('already booked');
    expect(wrapper.text()).not.toContain('FhirApiError');
    await wrapper.get('button').trigger('click');
    expect(retry).toHaveBeenCalled();
  });
});

describe('LoginPage', () => {
  it('offers the demo provider with its accounts, and explains a refusal', async () => {
    node.on('GET', /^\/auth\/config$/, loginConfig({ kind: 'demo', issuer: 'http://127.0.0.1:9', label: 'Démonstration' }, { demoAccounts: [{ login: 'sophie.leroy', password: 'demo', displayName: 'Sophie Leroy', description: 'secretary, Cabinet des Lilas' }] }));
    node.on('GET', /^\/health$/, { json: { status: 'ok', version: '0.1.0', fhirVersion: '3.0.1' } });
    const pinia = (await import('pinia')).createPinia();
    (await import('pinia')).setActivePinia(pinia);
    await useSessionStore().restore({ search: '?login_error=access_denied', pathname: '/', hash: '' } as Location);
    const { wrapper } = await mountInApp(LoginPage, { pinia, path: '/login' });
    await settle();
    expect(wrapper.get('button.login-button').text()).toBe('Se connecter (fournisseur de démonstration)');
    expect(wrapper.get('[role="alert"]').text()).toBe('La connexion a été refusée chez le fournisseur d’identité.');
    expect(wrapper.get('table').text()).toContain('sophie.leroy');
    expect(wrapper.text()).toContain('Liaison 0.1.0 · FHIR 3.0.1');
  });

  it('names Pro Santé Connect (e-CPS) when it is the provider', async () => {
    node.on('GET', /^\/auth\/config$/, loginConfig(PSC));
    const pinia = (await import('pinia')).createPinia();
    (await import('pinia')).setActivePinia(pinia);
    await useSessionStore().restore({ search: '', pathname: '/', hash: '' } as Location);
    const { wrapper } = await mountInApp(LoginPage, { pinia, path: '/login' });
    await settle();
    expect(wrapper.get('button.login-button').text()).toBe('Se connecter avec Pro Santé Connect');
    expect(wrapper.get('[data-login-provider] h2').text()).toBe('Pro Santé Connect (e-CPS)');
  });
});

describe('PatientForm', () => {
  it('asks for the identity fields and a well-formed INS before saving, and builds the Patient', async () => {
    const save = vi.fn(async (_patient: Patient) => undefined);
    const { wrapper } = await mountInApp(PatientForm, { props: { save }, pinia: await loggedIn(node) });
    await wrapper.get('form').trigger('submit');
    expect(save).not.toHaveBeenCalled();
    expect(wrapper.get('[role="alert"]').text()).toBe('Champ obligatoire');
    await wrapper.get('input[name="family"]').setValue('Lefèvre');
    await wrapper.get('input[name="given"]').setValue('Margaux Anne');
    await wrapper.get('input[name="birthDate"]').setValue('1984-03-12');
    await wrapper.get('input[name="ins"]').setValue('2840375');
    await wrapper.get('form').trigger('submit');
    expect(save).not.toHaveBeenCalled();
    expect(wrapper.text()).toContain('Le matricule INS compte 15 caractères');
    // A key that does not match is said as it is typed, in the node's words, and nothing is sent.
    await wrapper.get('input[name="ins"]').setValue('2 84 03 75 123 456 78');
    await wrapper.get('form').trigger('submit');
    expect(save).not.toHaveBeenCalled();
    expect(wrapper.get('input[name="ins"]').element.closest('label')!.querySelector('[role="alert"]')?.textContent).toContain('elle devrait être 40, et non 78');
    await wrapper.get('input[name="ins"]').setValue('2 84 03 75 123 456 40');
    await wrapper.get('input[name="city"]').setValue('Lyon');
    await wrapper.get('form').trigger('submit');
    await settle();
    expect(save).toHaveBeenCalledWith({
      resourceType: 'Patient',
      name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux', 'Anne'] }],
      birthDate: '1984-03-12',
      identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '284037512345640' }],
      address: [{ city: 'Lyon', country: 'FR' }],
    });
    expect(wrapper.emitted('done')).toHaveLength(1);
  });
});

describe('PatientBanner and CareTimeline', () => {
  it('shows who the patient is the French way, and the pathway newest first', async () => {
    const patient: Patient = { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1984-03-12', name: [{ family: 'Lefèvre', given: ['MARGAUX'] }], identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '284037512345678' }] };
    const pinia = await loggedIn(node);
    const banner = (await mountInApp(PatientBanner, { props: { patient }, pinia })).wrapper;
    expect(banner.text()).toMatch(/^LEFÈVRE Margaux\s*Femme\s*Né\(e\) le 12\/03\/1984 \(\d+ ans\)\s*INS 2 84 03 75 123 456 78\s*Identité provisoire$/);

    const items: TimelineItem[] = toTimeline([
      { resourceType: 'Encounter', id: 'old', status: 'finished', period: { start: '2024-01-10T14:00:00+01:00' }, type: [{ text: 'Première consultation' }] } as never,
      { resourceType: 'DocumentReference', id: 'd', status: 'current', indexed: '2025-06-03T08:00:00Z', description: 'Compte rendu', type: {}, content: [] } as never,
    ]);
    const timeline = (await mountInApp(CareTimeline, { props: { items }, pinia })).wrapper;
    expect(timeline.findAll('li .what').map((line) => line.text())).toEqual(['Compte rendu', 'Première consultation']);
    expect(timeline.findAll('li time').map((time) => time.text())).toEqual([expect.stringMatching(/^mar\. 3 juin 2025, \d\d:\d\d$/), expect.stringMatching(/^mer\. 10 janv\. 2024, \d\d:\d\d$/)]);
    await timeline.get('li button').trigger('click');
    expect(timeline.emitted('openDocument')?.[0]?.[0]).toMatchObject({ id: 'd' });
  });
});
