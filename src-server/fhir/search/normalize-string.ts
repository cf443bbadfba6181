/**
 * The string search form, the one normalisation of text: the index, the queries and the text index's thread share it
 * (the thread without loading the STU3 model that index-values.ts reads).
 */

const COMBINING_MARKS = /\p{M}+/gu;
const WHITESPACE = /\s+/g;
const PLAIN_ASCII = /^[\x00-\x7f]*$/;

/** String search form: lower case, accents removed, whitespace collapsed and trimmed ("  Hélène\tDUPONT" → "helene dupont"). */
export function normalizeString(value: string): string {
  // Plain ASCII (most codes and displays) has no accents to strip: skip the costly NFD pass.
  const folded = PLAIN_ASCII.test(value) ? value : value.normalize('NFD').replace(COMBINING_MARKS, '');
  return folded.toLowerCase().replace(WHITESPACE, ' ').trim();
}
