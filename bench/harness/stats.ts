/** Summaries of timing samples, in microseconds. */

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p90: number;
}

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = samples.reduce((sum, x) => sum + x, 0);
  return {
    n: samples.length,
    mean: samples.length ? total / samples.length : NaN,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
  };
}

export const mean = (samples: number[]) => summarize(samples).mean;
export const median = (samples: number[]) => summarize(samples).p50;

/** Splits samples into `blocks` consecutive runs of equal length (the last takes the rest). */
export function blocks<T>(samples: T[], count: number): T[][] {
  const size = Math.floor(samples.length / count);
  return Array.from({ length: count }, (_, i) =>
    samples.slice(i * size, i === count - 1 ? samples.length : (i + 1) * size),
  );
}

/** Microseconds since `start` (a `performance.now()` reading). */
export const since = (start: number) => (performance.now() - start) * 1000;

/** Times one awaited call, in microseconds. */
export async function timed<T>(call: () => Promise<T>): Promise<{ us: number; value: T }> {
  const start = performance.now();
  const value = await call();
  return { us: since(start), value };
}
