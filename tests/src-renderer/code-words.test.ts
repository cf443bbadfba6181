import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAppI18n } from '../../src-renderer/i18n';
import { codeWord, type CodeSet } from '../../src-renderer/code-words';
import { IDENTITY_DOCUMENTS } from '../../src-renderer/identity';
import { CHANNEL_CODES } from '../../src-server/documents/routing';
import { IDENTITY_STATUSES } from '../../src-server/patients/identity';
import { SHARED_FHIR } from '../helpers/fhir-data';

type Json = Record<string, any>;
const entries = (file: string): Json[] => (JSON.parse(readFileSync(`${SHARED_FHIR}/${file}`, 'utf8')) as { entry: Array<{ resource: Json }> }).entry.map((entry) => entry.resource);
const VALUE_SETS = entries('valuesets.json');
const STRUCTURES = entries('profiles-resources.json');

/** The codes STU3 allows in an element the screens show: its binding's value set, each included code system's concepts. */
function boundCodes(path: string): string[] {
  const [type] = path.split('.');
  const element = STRUCTURES.find((resource) => resource.resourceType === 'StructureDefinition' && resource.id === type)?.snapshot.element.find((candidate: Json) => candidate.path === path);
  const valueSet = VALUE_SETS.find((resource) => resource.resourceType === 'ValueSet' && resource.url === element?.binding?.valueSetReference?.reference);
  const systems: string[] = valueSet?.compose?.include?.map((include: Json) => include.system) ?? [];
  const concepts = (list: Json[] | undefined): string[] => (list ?? []).flatMap((concept) => [concept.code, ...concepts(concept.concept)]);
  return systems.flatMap((system) => concepts(VALUE_SETS.find((resource) => resource.resourceType === 'CodeSystem' && resource.url === system)?.concept));
}

/**
 * Encounter.class is bound to v3 ActEncounterCode, whose code system is not in the shared STU3 value sets: its codes
 * (http://hl7.org/fhir/STU3/v3/ActEncounterCode/vs.html) are listed here.
 */
const ACT_ENCOUNTER_CODES = ['AMB', 'EMER', 'FLD', 'HH', 'IMP', 'ACUTE', 'NONAC', 'OBSENC', 'PRENC', 'SS', 'VR'];

/** Every code the screens can meet, by the set of words it is shown with. */
const MET: Record<CodeSet, string[]> = {
  encounterStatus: boundCodes('Encounter.status'),
  encounterClass: ACT_ENCOUNTER_CODES,
  episodeStatus: boundCodes('EpisodeOfCare.status'),
  documentStatus: boundCodes('DocumentReference.status'),
  appointmentStatus: boundCodes('Appointment.status'),
  communicationStatus: boundCodes('Communication.status'),
  requestStatus: boundCodes('CommunicationRequest.status'),
  participationStatus: boundCodes('Appointment.participant.status'),
  participantRequired: boundCodes('Appointment.participant.required'),
  gender: boundCodes('Patient.gender'),
  // FR Core's code systems, which the shared STU3 value sets do not hold (src-renderer/identity.ts).
  identityStatus: [...IDENTITY_STATUSES],
  identityDocument: [...IDENTITY_DOCUMENTS],
  channel: [...CHANNEL_CODES],
};

function wordsIn(locale: 'fr' | 'en') {
  const { t, te } = createAppI18n(locale).global;
  return (set: CodeSet, code: string | undefined) => codeWord(t as never, te as never, set, code);
}
const fr = wordsIn('fr');
const en = wordsIn('en');

describe('status words', () => {
  it('reads the codes the screens meet from STU3 itself (a binding that moved would leave a set empty)', () => {
    for (const [set, codes] of Object.entries(MET)) expect(codes.length, set).toBeGreaterThan(2);
    expect(MET.appointmentStatus).toContain('booked');
    expect(MET.communicationStatus).toContain('in-progress');
  });

  it('has a French and an English word for every code a screen can meet, never the code itself', () => {
    const missing: string[] = [];
    for (const [set, codes] of Object.entries(MET) as Array<[CodeSet, string[]]>) {
      for (const code of codes) {
        for (const [locale, word] of [['fr', fr(set, code)], ['en', en(set, code)]] as const) {
          if (!word || word.startsWith('Autre (') || word.startsWith('Other (') || word === code) missing.push(`${locale} ${set}.${code}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it.each([
    ['encounterStatus', 'finished', 'Terminée', 'Finished'],
    ['encounterClass', 'HH', 'Visite à domicile', 'Home visit'],
    ['episodeStatus', 'active', 'En cours', 'Active'],
    ['documentStatus', 'current', 'Actif', 'Current'],
    ['appointmentStatus', 'booked', 'Réservé', 'Booked'],
    ['communicationStatus', 'completed', 'Remis', 'Delivered'],
    ['requestStatus', 'cancelled', 'Annulé', 'Cancelled'],
    ['channel', 'internal', 'Messagerie du cabinet', 'Practice messaging'],
    ['channel', 'mssante', 'MSSanté', 'MSSanté'],
  ] as Array<[CodeSet, string, string, string]>)('%s %s reads "%s" in French and "%s" in English', (set, code, french, english) => {
    expect(fr(set, code)).toBe(french);
    expect(en(set, code)).toBe(english);
  });

  it('shows a code it has no word for as "Autre (<code>)", and nothing for no code', () => {
    expect(fr('channel', 'apicrypt')).toBe('Autre (apicrypt)');
    expect(en('appointmentStatus', 'waitlist')).toBe('Other (waitlist)');
    // A dotted code is not a path into the messages.
    expect(fr('encounterStatus', 'codes.other')).toBe('Autre (codes.other)');
    expect(fr('documentStatus', undefined)).toBe('');
  });
});
