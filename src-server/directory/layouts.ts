/**
 * Column layouts of the two ANS extractions (docs/directory.md). Columns are found by their header names, which have
 * drifted in case and wording across releases ("Libellé civilité exercice", "Code département (coord. structure)"),
 * so names are compared folded; a file without a recognisable header falls back to the positional layouts.
 */

/** PS_LibreAcces_Personne_activite, current 52-column layout, in file order. */
export const ACTIVITY_COLUMNS_52 = [
  ['ppIdType', "Type d'identifiant PP"],
  ['ppId', 'Identifiant PP'],
  ['idnps', 'Identification nationale PP'],
  ['practiceCivilityCode', "Code civilité d'exercice"],
  ['practiceCivilityLabel', "Libellé civilité d'exercice", 'Libellé civilité exercice'],
  ['civilityCode', 'Code civilité'],
  ['civilityLabel', 'Libellé civilité'],
  ['familyName', "Nom d'exercice"],
  ['givenName', "Prénom d'exercice"],
  ['professionCode', 'Code profession'],
  ['professionLabel', 'Libellé profession'],
  ['categoryCode', 'Code catégorie professionnelle'],
  ['categoryLabel', 'Libellé catégorie professionnelle'],
  ['specialtyTypeCode', 'Code type savoir-faire'],
  ['specialtyTypeLabel', 'Libellé type savoir-faire'],
  ['specialtyCode', 'Code savoir-faire'],
  ['specialtyLabel', 'Libellé savoir-faire'],
  ['modeCode', 'Code mode exercice'],
  ['modeLabel', 'Libellé mode exercice'],
  ['siret', 'Numéro SIRET site'],
  ['siren', 'Numéro SIREN site'],
  ['finess', 'Numéro FINESS site'],
  ['finessLegal', 'Numéro FINESS établissement juridique'],
  ['structureTechnicalId', 'Identifiant technique de la structure'],
  ['siteName', 'Raison sociale site'],
  ['siteBrand', 'Enseigne commerciale site'],
  ['addressRecipient', 'Complément destinataire (coord. structure)'],
  ['addressPoint', 'Complément point géographique (coord. structure)'],
  ['streetNumber', 'Numéro Voie (coord. structure)'],
  ['streetRepeat', 'Indice répétition voie (coord. structure)'],
  ['streetTypeCode', 'Code type de voie (coord. structure)'],
  ['streetTypeLabel', 'Libellé type de voie (coord. structure)'],
  ['streetName', 'Libellé Voie (coord. structure)'],
  ['distribution', 'Mention distribution (coord. structure)'],
  ['cedexOffice', 'Bureau cedex (coord. structure)'],
  ['postalCode', 'Code postal (coord. structure)'],
  ['communeCode', 'Code commune (coord. structure)'],
  ['communeLabel', 'Libellé commune (coord. structure)'],
  ['countryCode', 'Code pays (coord. structure)'],
  ['countryLabel', 'Libellé pays (coord. structure)'],
  ['phone', 'Téléphone (coord. structure)'],
  ['phone2', 'Téléphone 2 (coord. structure)'],
  ['fax', 'Télécopie (coord. structure)'],
  ['email', 'Adresse e-mail (coord. structure)'],
  ['departmentCode', 'Code Département (structure)', 'Code département (coord. structure)'],
  ['departmentLabel', 'Libellé Département (structure)', 'Libellé département (coord. structure)'],
  ['formerStructureId', 'Ancien identifiant de la structure'],
  ['registrationAuthority', "Autorité d'enregistrement"],
  ['sectorCode', "Code secteur d'activité"],
  ['sectorLabel', "Libellé secteur d'activité"],
  ['pharmacySectionCode', 'Code section tableau pharmaciens'],
  ['pharmacySectionLabel', 'Libellé section tableau pharmaciens'],
] as const;

/** Columns some recent files add after the 52 (the role/function and the kind of activity). */
const ACTIVITY_EXTRA_COLUMNS = [
  ['roleCode', 'Code rôle', 'Code fonction'],
  ['roleLabel', 'Libellé rôle', 'Libellé fonction'],
  ['activityKindCode', 'Code genre activité', "Code genre d'activité"],
  ['activityKindLabel', 'Libellé genre activité', "Libellé genre d'activité"],
] as const;

type ActivityField = (typeof ACTIVITY_COLUMNS_52)[number][0] | (typeof ACTIVITY_EXTRA_COLUMNS)[number][0];
export type ActivityRecord = Record<ActivityField, string>;

/** Older files (48 columns): no activity sector and no pharmacists' register section. */
const NOT_IN_48: ReadonlySet<string> = new Set(['sectorCode', 'sectorLabel', 'pharmacySectionCode', 'pharmacySectionLabel']);
export const ACTIVITY_COLUMNS_48 = ACTIVITY_COLUMNS_52.filter(([field]) => !NOT_IN_48.has(field));

/** Extraction_Correspondance_MSSante: 31 columns. */
export const MSSANTE_COLUMNS = [
  ['mailboxType', 'Type de BAL'],
  ['mailbox', 'Adresse BAL'],
  ['ppIdType', 'Type Identifiant PP', "Type d'identifiant PP"],
  ['ppId', 'Identifiant PP'],
  ['idnps', 'Identification nationale PP'],
  ['structureIdType', 'Type identifiant structure'],
  ['structureId', 'Identification Structure'],
  ['serviceUnit', 'Service de rattachement'],
  ['practiceCivility', "Civilité d'exercice"],
  ['familyName', "Nom d'exercice"],
  ['givenName', "Prénom d'exercice"],
  ['categoryCode', 'Catégorie profession'],
  ['categoryLabel', 'Libellé de catégorie profession'],
  ['professionCode', 'Code Profession'],
  ['professionLabel', 'Libellé Profession'],
  ['specialtyCode', 'Code savoir-faire'],
  ['specialtyLabel', 'Libellé savoir-faire'],
  ['dematerialisation', 'Dématérialisation'],
  ['structureName', 'Raison Sociale structure BAL'],
  ['structureBrand', 'Enseigne commerciale structure BAL'],
  ['addressLocation', 'L2COMPLEMENTLOCALISATION structure BAL'],
  ['addressDistribution', 'L3COMPLEMENTDISTRIBUTION structure BAL'],
  ['streetNumber', 'L4NUMEROVOIE structure BAL'],
  ['streetNumberComplement', 'L4COMPLEMENTNUMEROVOIE structure BAL'],
  ['streetType', 'NL4TYPEVOIE structure BAL'],
  ['streetName', 'L4LIBELLEVOIE structure BAL'],
  ['placeName', 'L5LIEUDITMENTION structure BAL'],
  ['deliveryLine', 'L6LIGNEACHEMINEMENT structure BAL'],
  ['postalCode', 'Code postal structure BAL'],
  ['department', 'Département structure BAL'],
  ['country', 'Pays structure BAL'],
] as const;

export type MssanteRecord = Record<(typeof MSSANTE_COLUMNS)[number][0], string>;

export type Columns = ReadonlyArray<readonly [string, ...string[]]>;

export interface Layout<R> {
  kind: 'activity' | 'mssante';
  /** Position of each field in a line (-1: not in this file). */
  positions: ReadonlyArray<readonly [string, number]>;
  /** Fields per line, not counting the empty one after the trailing `|`. */
  width: number;
  /** False when the file has no header: its first line is data. */
  hasHeader: boolean;
  /** Type only: the record a line of this layout parses to. */
  readonly record?: R;
}

/** Case, accents, punctuation and spacing folded: "Libellé Voie (coord. structure)" → "libellevoiecoordstructure". */
export const foldHeader = (name: string) =>
  name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');

function byHeader<R>(kind: Layout<R>['kind'], columns: Columns, headers: string[]): Layout<R> | undefined {
  const index = new Map(headers.map((name, position) => [foldHeader(name), position]));
  const positions = columns.map(([field, ...names]) => [field, names.map((name) => index.get(foldHeader(name))).find((p) => p !== undefined) ?? -1] as const);
  // The identifying columns must be there; others may be missing in some release.
  const required = kind === 'activity' ? ['ppIdType', 'ppId', 'idnps', 'familyName'] : ['mailboxType', 'mailbox'];
  if (required.some((field) => positions.find(([name]) => name === field)![1] < 0)) return undefined;
  return { kind, positions: positions, width: headers.length, hasHeader: true };
}

/** A headerless file: `present` are its columns in order; the other `all` fields are absent (-1). */
function positional<R>(kind: Layout<R>['kind'], all: Columns, present: Columns): Layout<R> {
  const order = present.map(([field]) => field);
  return { kind, positions: all.map(([field]) => [field, order.indexOf(field)] as const), width: present.length, hasHeader: false };
}

const ACTIVITY_COLUMNS: Columns = [...ACTIVITY_COLUMNS_52, ...ACTIVITY_EXTRA_COLUMNS];

/** The layout a file's first line announces, or undefined when it is neither extraction. */
export type AnyLayout = Layout<ActivityRecord> | Layout<MssanteRecord>;

export const isActivityLayout = (layout: AnyLayout): layout is Layout<ActivityRecord> => layout.kind === 'activity';

export function detectLayout(fields: string[]): AnyLayout | undefined {
  const headers = fields.at(-1) === '' ? fields.slice(0, -1) : fields;
  const named = byHeader<ActivityRecord>('activity', ACTIVITY_COLUMNS, headers) ?? byHeader<MssanteRecord>('mssante', MSSANTE_COLUMNS, headers);
  if (named) return named;
  // No header: a data line of a known width (person lines start with the identifier type 0 or 8).
  if (headers.length === ACTIVITY_COLUMNS_52.length) return positional<ActivityRecord>('activity', ACTIVITY_COLUMNS, ACTIVITY_COLUMNS_52);
  if (headers.length === ACTIVITY_COLUMNS_48.length) return positional<ActivityRecord>('activity', ACTIVITY_COLUMNS, ACTIVITY_COLUMNS_48);
  if (headers.length === MSSANTE_COLUMNS.length) return positional<MssanteRecord>('mssante', MSSANTE_COLUMNS, MSSANTE_COLUMNS);
  return undefined;
}
