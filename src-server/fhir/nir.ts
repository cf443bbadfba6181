/**
 * The NIR (numéro d'inscription au répertoire, "numéro de sécurité sociale"), which is the matricule of the INS:
 * 13 characters — sex, year, month, département (two digits, or 2A/2B for Corsica), commune, order number — then a
 * two-digit control key, 97 − (the 13-digit number mod 97). For Corsica the number is computed with 2A read as 19
 * and 2B as 18.
 *
 * Pure: the node's identity rules (patients/identity.ts) and the patient form (src-renderer) both check a NIR with it,
 * so the form says as the user types what the node would refuse.
 */

/**
 * Sex, year, month, département, commune, order, key. The month is 01–12, or 20–42 and 50–99 (a made-up month, for a
 * person whose civil record gives none).
 */
const NIR_FORMAT = /^[1-8]\d\d(?:0[1-9]|1[0-2]|[23]\d|4[0-2]|[5-9]\d)(?:\d{2}|2[AB])\d{6}\d{2}$/;

/** Why `value` is not a NIR (its format, or its key with the one expected), or undefined when it is one. */
export type NirProblem = { kind: 'format'; text: string } | { kind: 'key'; text: string; expected: string; given: string };

export function nirProblem(value: string): NirProblem | undefined {
  if (!NIR_FORMAT.test(value)) {
    return {
      kind: 'format',
      text: `'${value}' is not a NIR: 15 characters, digits only (but 2A or 2B as the département of a birth in Corsica), without spaces, the month (4th and 5th) 01–12, or 20–42 and 50–99 when unknown`,
    };
  }
  const number = BigInt(value.slice(0, 13).replace('2A', '19').replace('2B', '18'));
  const key = 97n - (number % 97n);
  const expected = String(key).padStart(2, '0');
  const given = value.slice(13);
  if (BigInt(given) !== key) return { kind: 'key', text: `'${value}' is not a NIR: its control key should be ${expected}, not ${given}`, expected, given };
  return undefined;
}

/** The traits of a Patient a NIR is made of, as FHIR writes them. */
export interface NirTraits {
  gender?: unknown;
  birthDate?: unknown;
}

/**
 * What a well-formed NIR says that the Patient's sex or birth date contradicts, or undefined:
 * - sex: a first digit 1 is a man, 2 a woman; checked against `gender` male or female only. 3, 4, 7 and 8 mark numbers
 *   that are temporary or being assigned (7 and 8 the NIA of people born abroad awaiting their NIR); no published rule
 *   of the INSi ties their digit to the sex, so they are not checked. `other` and `unknown` contradict nothing.
 * - year: the 2nd and 3rd digits are the last two of the birth year, whatever the birthplace (born abroad, Corsica…).
 * - month: the 4th and 5th are the birth month; 20–42 and 50–99 say the month is unknown, and fit any birth date.
 * A birth date without a month (`1950`) is checked on its year only.
 */
export type NirContradiction =
  | { kind: 'sex'; text: string; digit: string; gender: string }
  | { kind: 'year'; text: string; nirYear: string; birthYear: string }
  | { kind: 'month'; text: string; nirMonth: string; birthMonth: string };

const SEX_OF_DIGIT: Readonly<Record<string, string>> = { '1': 'male', '2': 'female' };

export function nirContradiction(nir: string, { gender, birthDate }: NirTraits): NirContradiction | undefined {
  const digit = nir[0];
  const sex = SEX_OF_DIGIT[digit];
  if (sex && (gender === 'male' || gender === 'female') && gender !== sex) {
    return { kind: 'sex', text: `NIR ${nir} begins with ${digit}, the NIR of a ${sex === 'male' ? 'man' : 'woman'}, but Patient.gender is ${gender}`, digit, gender };
  }
  if (typeof birthDate !== 'string') return undefined;
  const [birthYear, birthMonth] = birthDate.split('-');
  const nirYear = nir.slice(1, 3);
  if (/^\d{4}$/.test(birthYear) && birthYear.slice(2) !== nirYear) {
    return { kind: 'year', text: `NIR ${nir} is of someone born in a year ending in ${nirYear}, but Patient.birthDate is in ${birthYear}`, nirYear, birthYear };
  }
  const nirMonth = nir.slice(3, 5);
  if (Number(nirMonth) <= 12 && /^\d{2}$/.test(birthMonth ?? '') && birthMonth !== nirMonth) {
    return { kind: 'month', text: `NIR ${nir} is of someone born in month ${nirMonth}, but Patient.birthDate is in month ${birthMonth}`, nirMonth, birthMonth };
  }
  return undefined;
}
