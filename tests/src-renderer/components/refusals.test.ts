// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
// The practice is in Paris: a slot booked at 10:00Z reads 11:00 (set before any date is formatted).
(globalThis as unknown as { process: { env: Record<string, string> } }).process.env.TZ = 'Europe/Paris';
import { fhir } from '../../../src-renderer/api';
import type { DocumentReference, Patient } from '../../../src-renderer/api/fhir-types';
import ErrorMessage from '../../../src-renderer/components/ErrorMessage.vue';
import PatientForm from '../../../src-renderer/components/PatientForm.vue';
import SendDocument from '../../../src-renderer/components/SendDocument.vue';
import en from '../../../src-renderer/i18n/en';
import fr from '../../../src-renderer/i18n/fr';
import { createAppI18n } from '../../../src-renderer/i18n';
import { useDocumentsStore } from '../../../src-renderer/stores/documents';
import { FhirApiError } from '../../../src-renderer/api/fhir-client';
import { refusal } from '../../../src-server/fhir/outcome';
import { REFUSALS } from '../../../src-server/fhir/refusals';
import { FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

/**
 * The node's coded refusals in the practice's words (issue 25): each code of the node's catalogue has a French and an
 * English sentence; a refusal is said next to the field it is about, with its values and times in the user's zone,
 * and never with the node's English diagnostics. The outcomes are those the node's own code builds.
 */

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => vi.unstubAllGlobals());

/** What the node answers for a refusal, as its HTTP layer sends it. */
const answer = (error: ReturnType<typeof refusal>) => ({ status: error.status, json: error.outcome as unknown as Record<string, unknown> });
const ENGLISH = /is not a NIR|already booked|No channel reaches|mailbox|should be|Détail/;

describe('the catalogue', () => {
  it('has a French and an English sentence for every code of the node', () => {
    const frRefusals = fr.refusals as Record<string, string>;
    const enRefusals = en.refusals as Record<string, string>;
    const missing = Object.keys(REFUSALS).flatMap((code) => [...(frRefusals[code] ? [] : [`fr ${code}`]), ...(enRefusals[code] ? [] : [`en ${code}`])]);
    expect(missing).toEqual([]);
  });

  it('words every code with the values its rule declares, and no other', () => {
    for (const locale of ['fr', 'en'] as const) {
      const { global } = createAppI18n(locale);
      for (const [code, rule] of Object.entries(REFUSALS)) {
        const declared = Object.keys((rule as { parameters?: Record<string, string> }).parameters ?? {});
        const values = Object.fromEntries(declared.flatMap((name) => [[name, `‹${name}›`], [`${name}Day`, `‹${name}Day›`]]));
        const message = (locale === 'fr' ? fr : en).refusals[code as keyof typeof fr.refusals] as string;
        const placeholders = [...message.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
        expect(placeholders.filter((name) => !(name in values)), `${locale} ${code}`).toEqual([]);
        const text = global.t(`refusals.${code}`, values);
        expect(text, `${locale} ${code}`).not.toMatch(/[{}]/);
        expect(text.length, `${locale} ${code}`).toBeGreaterThan(10);
      }
    }
  });
});

describe('PatientForm', () => {
  it('says a refusal of the node about the INS under the INS field, in French, without the node\'s English', async () => {
    // A wrong key or a NIR contradicting the sex is said as it is typed (components.test.ts, identity-ui.test.ts); an
    // INS another practice's patient has is known to the node alone.
    const refused = refusal(409, 'ins-followed-elsewhere', 'A patient with this INS already exists on this node, followed by another practice', 'Patient.identifier');
    node.on('POST', /^\/fhir\/Patient$/, answer(refused));
    const { wrapper } = await mountInApp(PatientForm, { props: { save: (patient: Patient) => fhir.create(patient) }, pinia: await loggedIn(node) });
    await wrapper.get('input[name="family"]').setValue('Lefèvre');
    await wrapper.get('input[name="given"]').setValue('Margaux');
    await wrapper.get('input[name="birthDate"]').setValue('1984-03-12');
    await wrapper.get('input[name="ins"]').setValue('284037512345640');
    await wrapper.get('form').trigger('submit');
    await settle();
    const ins = wrapper.get('input[name="ins"]').element.closest('label')!;
    expect(ins.querySelector('[role="alert"]')?.textContent).toBe(
      'Un patient porte déjà cet INS sur ce nœud, suivi par un autre cabinet : demandez à ce cabinet de partager son dossier plutôt que d’en créer un second.',
    );
    expect(wrapper.get('input[name="ins"]').attributes('aria-invalid')).toBe('true');
    expect(wrapper.text()).not.toMatch(ENGLISH);
    expect(wrapper.emitted('done')).toBeUndefined();
  });
});

describe('ErrorMessage', () => {
  it('says a double booking with the booked times in the user\'s zone, never the node\'s words or a UTC time', async () => {
    const error = refusal(409, 'double-booking', 'Practitioner/p1 is already booked from 2026-12-01T10:00:00Z to 2026-12-01T10:30:00Z (Appointment/a1)', 'Appointment.start', {
      parameters: { start: new Date('2026-12-01T10:00:00Z'), end: new Date('2026-12-01T10:30:00Z'), appointment: 'Appointment/a1', practitioner: 'Practitioner/p1' },
    });
    const { wrapper } = await mountInApp(ErrorMessage, { props: { error: new FhirApiError(409, error.issues[0].diagnostics, error.outcome as never) }, pinia: await loggedIn(node) });
    expect(wrapper.get('.headline').text()).toBe('Ce créneau est déjà pris : un autre rendez-vous de ce praticien, de 11:00 à 11:30 (mar. 1 déc. 2026).');
    expect(wrapper.text()).not.toMatch(ENGLISH);
    expect(wrapper.text()).not.toMatch(/\d\dZ|Appointment\/|Practitioner\//);
  });
});

describe('SendDocument', () => {
  it('says which recipient no channel reaches, next to that recipient, in French', async () => {
    const pinia = await loggedIn(node);
    const refused = refusal(422, 'recipient-no-channel', 'No channel reaches Practitioner/far: not a user or practice of this node…', 'CommunicationRequest.recipient[1]', { parameters: { recipient: 'Practitioner/far' } });
    node.on('POST', /^\/fhir\/CommunicationRequest$/, answer(refused));
    const documents = useDocumentsStore();
    documents.draftRecipients = [
      { reference: 'Practitioner/near', display: 'Dr Paul AUBERT' },
      { reference: 'Practitioner/far', display: 'Dr Rose INJOIGNABLE' },
    ];
    const document = { resourceType: 'DocumentReference', id: 'd1', status: 'current', description: 'Compte rendu', subject: { reference: 'Patient/p1' }, content: [] } as unknown as DocumentReference;
    const { wrapper } = await mountInApp(SendDocument, { props: { document }, pinia });
    await wrapper.findAll('button').find((button) => button.text() === 'Envoyer')!.trigger('click');
    await settle();
    expect(wrapper.get('[data-refusal]').text()).toBe(
      'Dr Rose INJOIGNABLE : Ce destinataire n’est joignable par aucun moyen d’envoi : il n’est pas sur ce nœud, n’a pas de messagerie sécurisée de santé (MSSanté) ni de logiciel d’établissement relié. Choisissez une autre fiche de l’annuaire.',
    );
    expect(wrapper.findAll('.chips li').map((chip) => chip.attributes('aria-invalid'))).toEqual(['false', 'true']);
    expect(wrapper.text()).not.toMatch(ENGLISH);
    expect(wrapper.emitted('sent')).toBeUndefined();
  });
});

describe('a refusal without a code the UI knows', () => {
  it('reads as a French sentence by its status, without the node\'s English', async () => {
    const error = new FhirApiError(409, 'Something English happened', { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'conflict', diagnostics: 'Something English happened' }] });
    const { wrapper } = await mountInApp(ErrorMessage, { props: { error }, pinia: await loggedIn(node) });
    expect(wrapper.text()).toBe('Conflit : ce créneau ou cet élément est déjà pris.');
  });
});
