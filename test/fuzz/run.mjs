// npm run fuzz: the fuzz targets for a long run with a random seed (printed, so a failure can be replayed with FUZZ_SEED).
// FUZZ_RUNS (default 200000) runs per target; FUZZ_SEED fixes the seed; FUZZ_TIME_LIMIT_MS bounds each target (default 1 h);
// FUZZ_SHRINK=1 shrinks a counterexample before reporting it. Extra arguments go to vitest (e.g. -t cef).
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

const TARGETS = ['services/normalize/parsers/fuzz.test.ts', 'services/core/ecs.fuzz.test.ts', 'services/ingest/core.fuzz.test.ts'];
const seed = process.env.FUZZ_SEED ?? String(randomInt(2 ** 31));
const runs = process.env.FUZZ_RUNS ?? '200000';
const limitMs = process.env.FUZZ_TIME_LIMIT_MS ?? '3600000';
process.stdout.write(`fuzz seed ${seed}, ${runs} runs per target (replay: FUZZ_SEED=${seed} FUZZ_RUNS=${runs} npm run fuzz)\n`);
const started = Date.now();
const r = spawnSync('npx', ['vitest', 'run', ...TARGETS, `--testTimeout=${Number(limitMs) + 60_000}`, ...process.argv.slice(2)], {
  stdio: 'inherit', env: { ...process.env, FUZZ_SEED: seed, FUZZ_RUNS: runs, FUZZ_TIME_LIMIT_MS: limitMs },
});
process.stdout.write(`fuzz seed ${seed}: ${r.status === 0 ? 'no failure' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s\n`);
process.exit(r.status ?? 1);
