/**
 * What the integration channels say about a DocumentReference: its LOINC type, title and date, and the HL7 timestamp
 * format (the same in HL7 v2 and CDA).
 */

type Json = Record<string, any>;

const LOINC_SYSTEM = 'http://loinc.org';

export interface CodedValue {
  code: string;
  display?: string;
}

export interface DocumentFacts {
  /** The LOINC document type (DocumentReference.type): the DMP and hospital EHRs file documents by it. */
  type: CodedValue;
  title: string;
  /** When the document was made (`created`, else `indexed`), as FHIR wrote it. */
  date: string;
  /** DocumentReference.class, when it is coded. */
  class?: CodedValue & { system?: string };
}

/** The LOINC coding of a DocumentReference's type, if it has one. */
export function loincType(documentReference: Json | undefined): CodedValue | undefined {
  const codings: Json[] = Array.isArray(documentReference?.type?.coding) ? documentReference.type.coding : [];
  const loinc = codings.find((coding) => coding.system === LOINC_SYSTEM && typeof coding.code === 'string' && coding.code !== '');
  return loinc && { code: loinc.code, display: loinc.display ?? documentReference?.type?.text };
}

/** The facts, or why the document cannot be described (no LOINC type). */
export function documentFacts(documentReference: Json, now = new Date()): DocumentFacts | { missing: string } {
  const type = loincType(documentReference);
  if (!type) return { missing: 'The DocumentReference has no LOINC type (type.coding with system http://loinc.org)' };
  const classCoding: Json | undefined = documentReference.class?.coding?.find((coding: Json) => typeof coding.code === 'string');
  return {
    type,
    title: documentReference.description ?? type.display ?? documentReference.type?.text ?? 'Document',
    date: documentReference.created ?? documentReference.indexed ?? now.toISOString(),
    ...(classCoding ? { class: { code: classCoding.code, display: classCoding.display, system: classCoding.system } } : {}),
  };
}

/**
 * A FHIR date or dateTime as an HL7 timestamp (YYYY[MM[DD[HHMM[SS]]]][+ZZZZ]): partial dates keep their precision,
 * instants are written in UTC.
 */
export function hl7Timestamp(value: string | Date): string {
  if (typeof value === 'string' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) return value.replaceAll('-', '');
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new Error(`'${String(value)}' is not a date`);
  return `${date.toISOString().slice(0, 19).replace(/[-:T]/g, '')}+0000`;
}
