import type { Address, ContactPoint, HumanName, Identifier } from './api/fhir-types';

/**
 * How names, dates, phones and addresses read in a French practice: family names in capitals, given names with
 * their accents (the national directory writes them in capitals), dd/mm/yyyy, phones in pairs of digits.
 */

export type Locale = 'fr' | 'en';

const INTL_LOCALE: Record<Locale, string> = { fr: 'fr-FR', en: 'en-GB' };

/** "JEAN-FRANÇOIS" → "Jean-François". */
export function capitalised(word: string): string {
  return word.toLocaleLowerCase('fr').replace(/(^|[\s'’-])(\p{L})/gu, (_match, before: string, letter: string) => before + letter.toLocaleUpperCase('fr'));
}

function officialName(names: HumanName[] | undefined): HumanName | undefined {
  return names?.find((name) => name.use === 'official') ?? names?.find((name) => name.use !== 'old') ?? names?.[0];
}

/** A person as they are addressed, or named in a sentence: "Dr Claire MARTIN", "Jeanne DUPONT". */
export function nameAsAddressed(names: HumanName[] | undefined): string {
  const name = officialName(names);
  if (!name) return '';
  if (!name.family && name.text) return name.text;
  return [...(name.prefix ?? []), ...(name.given ?? []).map(capitalised), name.family?.toLocaleUpperCase('fr')].filter(Boolean).join(' ');
}

/** A professional as they are addressed: "Dr Claire MARTIN". */
export const practitionerName = nameAsAddressed;

/** A patient as a practice lists them: "DUPONT Jeanne". */
export function patientName(names: HumanName[] | undefined): string {
  const name = officialName(names);
  if (!name) return '';
  if (!name.family && name.text) return name.text;
  return [name.family?.toLocaleUpperCase('fr'), ...(name.given ?? []).map(capitalised)].filter(Boolean).join(' ');
}

/** A FHIR date (yyyy, yyyy-mm, yyyy-mm-dd) as 04/05/1960. */
export function formatDate(date: string | undefined): string {
  if (!date) return '';
  const [year, month, day] = date.slice(0, 10).split('-');
  if (!month) return year;
  if (!day) return `${month}/${year}`;
  return `${day}/${month}/${year}`;
}

/** An instant as "jeu. 26 nov. 2026, 14:30". */
export function formatDateTime(instant: string | undefined, locale: Locale = 'fr'): string {
  if (!instant) return '';
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return instant;
  if (instant.length <= 10) return formatDate(instant);
  return new Intl.DateTimeFormat(INTL_LOCALE[locale], { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(date);
}

/** The time of an instant in the reader's zone: "11:00". */
export function formatTime(date: Date, locale: Locale = 'fr'): string {
  return timeFormatter(locale)(date);
}

/**
 * formatTime for many instants (a week of appointments): one Intl.DateTimeFormat, whose making costs far more than its
 * use. Made per batch, not kept, so that it follows the reader's zone and language.
 */
export function timeFormatter(locale: Locale = 'fr'): (date: Date) => string {
  const format = new Intl.DateTimeFormat(INTL_LOCALE[locale], { hour: '2-digit', minute: '2-digit' });
  return (date) => format.format(date);
}

/** The day of an instant in the reader's zone: "mar. 1 déc. 2026". */
export function formatDay(date: Date, locale: Locale = 'fr'): string {
  return new Intl.DateTimeFormat(INTL_LOCALE[locale], { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(date);
}

/** A FHIR date in words: "3 mars 1950", "1er août 1945" (a date without a day as it is written: 03/1950, 1950). */
export function formatLongDate(date: string | undefined, locale: Locale = 'fr'): string {
  if (!date || date.length < 10) return formatDate(date);
  // A birth date is a day, not an instant: formatted in UTC so that no zone moves it.
  const words = new Intl.DateTimeFormat(INTL_LOCALE[locale], { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${date.slice(0, 10)}T00:00:00Z`));
  // French writes the first of the month as an ordinal: "1er août 1945".
  return locale === 'fr' ? words.replace(/^1 /, '1er ') : words;
}

/** Age in whole years on `today`. */
export function ageOf(birthDate: string | undefined, today = new Date()): number | undefined {
  if (!birthDate || birthDate.length < 10) return undefined;
  const [year, month, day] = birthDate.split('-').map(Number);
  let age = today.getFullYear() - year;
  if (today.getMonth() + 1 < month || (today.getMonth() + 1 === month && today.getDate() < day)) age--;
  return age;
}

/** "0149871261" → "01 49 87 12 61"; "+33149871261" → "+33 1 49 87 12 61"; anything else as it is. */
export function formatPhone(value: string | undefined): string {
  if (!value) return '';
  const digits = value.replace(/[\s.-]/g, '');
  if (/^0\d{9}$/.test(digits)) return digits.replace(/(\d{2})(?=\d)/g, '$1 ');
  if (/^\+33\d{9}$/.test(digits)) return `+33 ${digits.slice(3, 4)} ${digits.slice(4).replace(/(\d{2})(?=\d)/g, '$1 ')}`;
  return value;
}

/** Little words a street name writes in lower case: "Rue des Lilas", "Place de la Mairie". */
const STREET_PARTICLES = /(?<=\s)(?:(?:De|Des|Du|La|Le|Les|Aux|Au|Et|Sur|En)(?=\s)|[DL]['’])/gu;

/** "12 Rue Pasteur, 69003 Lyon"; "12 Rue des Lilas". */
export function formatAddress(address: Address | undefined): string {
  if (!address) return '';
  if (address.text && !address.line && !address.city) return address.text;
  const city = [address.postalCode, address.city && capitalised(address.city)].filter(Boolean).join(' ');
  const street = (line: string) => capitalised(line).replace(STREET_PARTICLES, (particle) => particle.toLocaleLowerCase('fr'));
  return [...(address.line ?? []).map(street), city].filter(Boolean).join(', ');
}

export const MSSANTE_EXTENSION = 'https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata';

/** An MSSanté mailbox: an e-mail ContactPoint with the ANS mailbox marker (docs/directory.md). */
export function isMssante(contact: ContactPoint): boolean {
  return contact.system === 'email' && (contact.extension?.some((extension) => extension.url === MSSANTE_EXTENSION) ?? false);
}

/** The INS (NIR-based, 15 digits) in its printed groups: "2 60 05 88 154 002 33". */
export function formatIns(value: string | undefined): string {
  if (!value) return '';
  const match = /^(\d)(\d{2})(\d{2})(\d{2})(\d{3})(\d{3})(\d{2})$/.exec(value.replace(/\s/g, ''));
  return match ? match.slice(1).join(' ') : value;
}

const IDENTIFIER_LABELS: Record<string, string> = {
  'https://rpps.esante.gouv.fr': 'RPPS',
  'https://adeli.esante.gouv.fr': 'ADELI',
  'https://finess.esante.gouv.fr': 'FINESS',
  'https://sirene.fr': 'SIRET',
};

/** The national identifiers a person reads (RPPS, ADELI, FINESS, SIRET), each with its name. */
export function labelledIdentifiers(identifiers: Identifier[] | undefined): Array<{ label: string; value: string }> {
  return (identifiers ?? []).filter((identifier) => identifier.system && IDENTIFIER_LABELS[identifier.system] && identifier.value).map((identifier) => ({ label: IDENTIFIER_LABELS[identifier.system!], value: identifier.value! }));
}

/** The day of an instant in the user's time zone, as FHIR writes a date: an appointment at 00:30 in Paris is on its Paris day. */
export function localDay(instant: string): string {
  const date = new Date(instant);
  return [date.getFullYear(), date.getMonth() + 1, date.getDate()].map((part, index) => String(part).padStart(index === 0 ? 4 : 2, '0')).join('-');
}

/**
 * The name a document is saved under: its title and its day as the practice writes it ("Compte rendu du 2 juin -
 * 07-12-2026.pdf"), without the characters Windows, macOS or Linux refuse in a file name.
 */
export function documentFileName(title: string | undefined, instant: string | undefined, fallback: string): string {
  const safe = (title ?? '')
    .replace(/[\p{Cc}/\\:*?"<>|]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .slice(0, 100)
    // No hidden file, and no dot or space at either end (Windows refuses them).
    .replace(/^[.\s]+|[.\s]+$/g, '');
  const date = instant ? new Date(instant) : undefined;
  const day = date && !Number.isNaN(date.getTime()) ? [date.getDate(), date.getMonth() + 1].map((part) => String(part).padStart(2, '0')).concat(String(date.getFullYear())).join('-') : undefined;
  return `${[safe || fallback, day].filter(Boolean).join(' - ')}.pdf`;
}

/** A wall-clock date and time without offset (an ANS publication's, in Paris time) as "6 décembre 2026, 14:10". */
export function formatWallClock(local: string | undefined, locale: Locale = 'fr'): string {
  if (!local) return '';
  const date = new Date(`${local.slice(0, 19)}Z`);
  if (Number.isNaN(date.getTime())) return local;
  const day = new Intl.DateTimeFormat(INTL_LOCALE[locale], { dateStyle: 'long', timeZone: 'UTC' }).format(date);
  const time = new Intl.DateTimeFormat(INTL_LOCALE[locale], { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(date);
  return `${day}, ${time}`;
}
