/**
 * Which cases the property suites try, so that `npm test` and CI give the
 * same answer on every run and random exploration is a command of its own:
 *
 * - `npm test` (and CI): each property runs a fixed list of seeds, a fixed
 *   number of cases each. A failure there is a bug the fixed cases reach,
 *   never luck.
 * - `npm run test:fuzz`: one new random seed per property, printed before it
 *   runs, `KINDE_PROPERTY_RUNS` cases (500 unless set). A failure prints its
 *   seed and shrunk counterexample; pin the counterexample as a named test.
 * - `KINDE_PROPERTY_SEED=123[,456…]` replays those seeds (with
 *   `KINDE_PROPERTY_RUNS` cases, or the CI number).
 */
import type fc from "fast-check";

export interface PropertyRun {
  /** Said in the test's name, so a failure names the seed to replay. */
  seed: number;
  parameters: fc.Parameters<unknown>;
}

const FUZZ_RUNS = 500;

/** The seeds to try: `pinned` with `ciRuns` cases each, unless the environment asks otherwise. */
export function propertyRuns(pinned: readonly number[], ciRuns: number): PropertyRun[] {
  const {
    KINDE_PROPERTY_RUNS: runs,
    KINDE_PROPERTY_SEED: seeds,
    KINDE_PROPERTY_FUZZ: fuzz,
  } = process.env;
  const numRuns = runs ? Number(runs) : fuzz ? FUZZ_RUNS : ciRuns;
  if (!Number.isInteger(numRuns) || numRuns < 1) {
    throw new Error(`KINDE_PROPERTY_RUNS must be a positive whole number, not "${runs}"`);
  }
  const chosen = seeds
    ? seeds.split(",").map((seed) => Number(seed.trim()))
    : fuzz
      ? [randomSeed()]
      : pinned;
  for (const seed of chosen) {
    if (!Number.isInteger(seed)) throw new Error(`KINDE_PROPERTY_SEED: "${seed}" is not a seed`);
  }
  if (fuzz && !seeds) console.log(`[property] random seed ${chosen[0]}, ${numRuns} cases`);
  return chosen.map((seed) => ({ seed, parameters: { seed, numRuns } }));
}

/** A 32-bit seed, as fast-check draws them. */
function randomSeed(): number {
  return (Math.random() * 2 ** 32) | 0;
}
