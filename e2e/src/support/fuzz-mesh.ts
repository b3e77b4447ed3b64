import type { Mesh } from './mesh';

/**
 * fast-check runs per route or subject: small by default so a suite stays near a minute on two cores;
 * KEELSON_FUZZ_RUNS=500 for a long soak (docs/testing.md).
 */
export const fuzzRuns = (): number => positive(process.env['KEELSON_FUZZ_RUNS']) ?? 25;

/** One seed for the whole run, printed with every failure; KEELSON_FUZZ_SEED replays a failed run. */
export const fuzzSeed = (): number => {
  const given = process.env['KEELSON_FUZZ_SEED'];
  return given !== undefined && Number.isInteger(Number(given)) ? Number(given) : fixedSeed;
};
const fixedSeed = 20261127;

export interface Watched {
  /** `name: exit code` of every service process that ended while watched. */
  died(): string[];
  stop(): void;
}

/** Records every service process that exits while the fuzz runs; a crash is a finding even if a supervisor would restart it. */
export function watchProcesses(mesh: Mesh): Watched {
  const died: string[] = [];
  let watching = true;
  for (const [name, app] of mesh.apps) {
    void app.exited.then((code) => {
      if (watching) died.push(`${name}: exited with ${code}; last lines:\n${app.logs().slice(-15).join('\n')}`);
    });
  }
  return { died: () => [...died], stop: () => void (watching = false) };
}

function positive(value: string | undefined): number | undefined {
  const n = Number(value);
  return value && Number.isInteger(n) && n > 0 ? n : undefined;
}
