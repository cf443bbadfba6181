/**
 * Bursts of calls until one is refused (ten bursts at most), and how long that took: a slow machine sends them over
 * more time, during which the caller's bucket refills, so what a test may expect depends on it (`mostAdmitted`).
 */
export async function burstsUntilRefused<T extends { status: number }>(burst: () => Promise<T[]>): Promise<{ answers: T[]; throttled: T[]; admitted: number; seconds: number }> {
  const started = performance.now();
  const answers: T[] = [];
  for (let round = 0; round < 10 && !answers.some((answer) => answer.status === 429); round++) answers.push(...(await burst()));
  const throttled = answers.filter((answer) => answer.status === 429);
  return { answers, throttled, admitted: answers.length - throttled.length, seconds: (performance.now() - started) / 1000 };
}

/** A bucket of `rate` admits at most its `rate` calls and what it refilled in `seconds`. */
export const mostAdmitted = (rate: number, seconds: number) => Math.floor(rate + rate * seconds);
