import { PROFESSIONS, SPECIALTIES, type Term } from './codes';

/**
 * One search box for the whole directory: what a person types ("cardio martin lyon") becomes the directory's
 * search. Words that name a profession or a specialty become that filter; the other words go to `name`, which the
 * node matches word by word as prefixes of the practitioner's names and of the cities they work in.
 */

export interface DirectoryQuery {
  /** The words for `name` (names, cities). */
  text: string;
  profession?: Term;
  specialty?: Term;
  /** The typed words read as a profession or a specialty (not chosen in the panel). */
  understood: Array<{ kind: 'profession' | 'specialty'; term: Term; word: string }>;
}

/** Lower case, accents and punctuation folded, as the node folds its index. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

function words(text: string): string[] {
  return fold(text).split(/[^a-z0-9]+/).filter(Boolean);
}

/** A typed word names a term when it begins one of its words or synonyms (4 letters at least: "card", "kine"). */
const MIN_TERM_PREFIX = 4;

function termOf(word: string, terms: readonly Term[]): Term | undefined {
  if (word.length < MIN_TERM_PREFIX) return undefined;
  return terms.find((term) => [term.label, ...(term.synonyms ?? [])].some((name) => words(name).some((candidate) => candidate.startsWith(word))));
}

/**
 * Reads the box. `asName` are words the person asked to keep as names (a family name that happens to begin like
 * a specialty). Filters chosen in the panel win over words typed.
 */
export function parseDirectoryQuery(typed: string, chosen: { profession?: Term; specialty?: Term } = {}, asName: ReadonlySet<string> = new Set()): DirectoryQuery {
  let { profession, specialty } = chosen;
  const kept: string[] = [];
  const understood: DirectoryQuery['understood'] = [];
  for (const word of typed.split(/\s+/).filter(Boolean)) {
    const folded = fold(word);
    const asSpecialty = !specialty && !asName.has(folded) ? termOf(folded, SPECIALTIES) : undefined;
    const asProfession = !asSpecialty && !profession && !asName.has(folded) ? termOf(folded, PROFESSIONS) : undefined;
    if (asSpecialty) understood.push({ kind: 'specialty', term: (specialty = asSpecialty), word });
    else if (asProfession) understood.push({ kind: 'profession', term: (profession = asProfession), word });
    else kept.push(word);
  }
  return { text: kept.join(' '), profession, specialty, understood };
}

/** What the node needs before it searches `name`: two letters or digits. */
export function searchable(query: DirectoryQuery): boolean {
  return words(query.text).join('').length >= 2 || ((query.profession !== undefined || query.specialty !== undefined) && query.text.trim() === '');
}
