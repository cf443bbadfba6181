/**
 * The FHIR codes the screens show, each as a word of the user's language (`codes.<set>.<code>` in the i18n files):
 * no status, channel or class reaches the page as the node stores it. A code this UI has no word for (a newer FHIR
 * version, another vendor's channel) reads "Autre (<code>)", so it is visibly unknown without being hidden.
 */

/** Where a code comes from: one set of words per element shown. */
export type CodeSet =
  | 'encounterStatus'
  | 'encounterClass'
  | 'episodeStatus'
  | 'documentStatus'
  | 'appointmentStatus'
  | 'communicationStatus'
  | 'requestStatus'
  | 'participationStatus'
  | 'participantRequired'
  | 'gender'
  | 'identityStatus'
  | 'identityDocument'
  | 'channel';

type Translate = (key: string, values?: Record<string, unknown>) => string;

/** "current" → "Actif"; "Autre (xyz)" for a code without a word; '' for no code. */
export function codeWord(t: Translate, te: (key: string) => boolean, set: CodeSet, code: string | undefined): string {
  if (!code) return '';
  const key = `codes.${set}.${code}`;
  // A code holding a dot would be read as a path of keys: it has no word.
  return !code.includes('.') && te(key) ? t(key) : t('codes.other', { code });
}
