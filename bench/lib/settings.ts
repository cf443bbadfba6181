/** Shared helpers of the benchmarks: settings from the environment and a seeded random source. */

/** A positive number from the environment variable `name`, or `fallback` when it is unset. */
export function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not '${raw}'`);
  return value;
}

/** The seeded random source the benchmarks' data is made with (the directory generator's too). */
export { seededRandom as prng } from '../../src-server/seeded-random';
