import { useI18n } from 'vue-i18n';
import type { HumanName, Resource } from '../api/fhir-types';
import { codeWord, type CodeSet } from '../code-words';
import { formatAddress, formatDate, formatDateTime, formatPhone, patientName, practitionerName, type Locale } from '../format';

type Json = Record<string, unknown>;
const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** FHIR's date (yyyy-mm, yyyy-mm-dd) and instant (with a time and a zone) as they are written in a resource. */
const FHIR_DATE = /^\d{4}-\d{2}(-\d{2})?$/;
const FHIR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** The coded elements a conflict may show, by `Type.path` (indices left out): their codes in words. */
const CODED_ELEMENTS: Readonly<Record<string, CodeSet>> = {
  'Patient.gender': 'gender',
  'Practitioner.gender': 'gender',
  'Appointment.status': 'appointmentStatus',
  'Appointment.participant.status': 'participationStatus',
  'Appointment.participant.required': 'participantRequired',
  'Encounter.status': 'encounterStatus',
  'Encounter.class': 'encounterClass',
  'EpisodeOfCare.status': 'episodeStatus',
  'DocumentReference.status': 'documentStatus',
  'Communication.status': 'communicationStatus',
  'CommunicationRequest.status': 'requestStatus',
};

/**
 * A resource and the values of its elements as a person reads them (Réglages' conflicts): a record named by its kind
 * and its name, never `Type/id`; dates and instants in the user's time zone; names, addresses, phones, codes and
 * references in words rather than as JSON.
 */
export function useReadableValues() {
  const { t, te, locale } = useI18n();

  /**
   * A value in words; `element` (`Appointment.participant`, indices left out) says what it is, so that a code reads as
   * its word and a part of a structure by its name ("Qui : …, Présence : Obligatoire").
   */
  function valueText(value: unknown, element = ''): string {
    if (value === undefined || value === null) return t('settings.conflicts.absent');
    if (typeof value === 'boolean') return t(value ? 'common.yes' : 'common.no');
    if (typeof value === 'number') return value.toLocaleString(locale.value);
    const coded = CODED_ELEMENTS[element];
    if (typeof value === 'string') {
      if (coded) return codeWord(t, te, coded, value);
      if (FHIR_INSTANT.test(value)) return formatDateTime(value, locale.value as Locale);
      return FHIR_DATE.test(value) ? formatDate(value) : value;
    }
    if (Array.isArray(value)) return value.map((item) => valueText(item, element)).join(' ; ');
    if (!isJson(value)) return String(value);
    // The common data types, by the elements that make them.
    if ('family' in value || 'given' in value) return patientName([value as HumanName]);
    if ('line' in value || 'city' in value || 'postalCode' in value) return formatAddress(value);
    if ('reference' in value || 'display' in value) return typeof value.display === 'string' ? value.display : t('names.unknown.record');
    if ('coding' in value || 'text' in value) return typeof value.text === 'string' ? value.text : valueText(value.coding, element);
    if ('code' in value && ('system' in value || 'display' in value)) return coded ? codeWord(t, te, coded, String(value.code)) : String(value.display ?? value.code);
    if (value.system === 'phone' && typeof value.value === 'string') return formatPhone(value.value);
    if ('value' in value) return [valueText(value.value), typeof value.unit === 'string' ? value.unit : ''].filter(Boolean).join(' ');
    if ('start' in value || 'end' in value) return `${valueText(value.start ?? '…')} → ${valueText(value.end ?? '…')}`;
    return Object.entries(value)
      .map(([key, part]) => `${partName(key)} : ${valueText(part, `${element}.${key}`)}`)
      .join(', ');
  }

  /** A part of a structure by its name in words, or as FHIR names it when this UI has no word for it. */
  function partName(key: string): string {
    const name = `settings.conflicts.fields.${key}`;
    return te(name) ? t(name) : key;
  }

  /** "Patient DUPONT Jeanne, née le 04/05/1960", "Professionnel Dr Claire MARTIN", "Rendez-vous (sans nom)". */
  function recordLabel(resource: Resource | undefined, resourceType: string): string {
    const kindKey = `settings.conflicts.kinds.${resourceType}`;
    const kind = te(kindKey) ? t(kindKey) : t('settings.conflicts.kinds.other');
    const record = (resource ?? {}) as Json;
    let name = '';
    if (resourceType === 'Patient') {
      name = patientName(record.name as HumanName[] | undefined);
      const born = record.gender === 'female' ? 'names.bornFemale' : record.gender === 'male' ? 'names.bornMale' : 'names.born';
      if (name && typeof record.birthDate === 'string') name += `, ${t(born, { date: formatDate(record.birthDate) })}`;
    } else if (resourceType === 'Practitioner') name = practitionerName(record.name as HumanName[] | undefined);
    else if (typeof record.name === 'string') name = record.name;
    else if (typeof record.description === 'string') name = record.description;
    const when = [record.start, record.date, record.created, isJson(record.period) ? record.period.start : undefined].find((candidate): candidate is string => typeof candidate === 'string');
    if (when) name = [name, valueText(when)].filter(Boolean).join(' — ');
    return `${kind} ${name || t('settings.conflicts.unnamed')}`;
  }

  return { valueText, recordLabel };
}
