/**
 * The NIR (numéro d'inscription au répertoire, "numéro de sécurité sociale"), which is the matricule of the INS:
 * 13 characters — sex, year, month, département (two digits, or 2A/2B for Corsica), commune, order number — then a
 * two-digit control key, 97 − (the 13-digit number mod 97). For Corsica the number is computed with 2A read as 19
 * and 2B as 18.
 */

const NIR_FORMAT = /^[1-8]\d{4}(?:\d{2}|2[AB])\d{6}\d{2}$/;

/** Why `value` is not a NIR (its format, or its key with the one expected), or undefined when it is one. */
export type NirProblem = { kind: 'format'; text: string } | { kind: 'key'; text: string; expected: string; given: string };

export function nirProblem(value: string): NirProblem | undefined {
  if (!NIR_FORMAT.test(value)) {
    return { kind: 'format', text: `'${value}' is not a NIR: 15 characters, digits only (but 2A or 2B as the département of a birth in Corsica), without spaces` };
  }
  const number = BigInt(value.slice(0, 13).replace('2A', '19').replace('2B', '18'));
  const key = 97n - (number % 97n);
  const expected = String(key).padStart(2, '0');
  const given = value.slice(13);
  if (BigInt(given) !== key) return { kind: 'key', text: `'${value}' is not a NIR: its control key should be ${expected}, not ${given}`, expected, given };
  return undefined;
}
