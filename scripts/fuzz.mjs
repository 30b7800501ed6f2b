// Long-running fuzzing: `npm run fuzz` (FUZZ_SECONDS=60 by default; set it to hours). Cycles through every target of
// test/fuzz/targets.ts with fresh seeds against one in-process sensor on loopback until the time is up; prints each
// failure with its seed (replay: FUZZ_SEED=<seed> FUZZ_ONLY=<target substring>) and exits 1 if there was any.
// Needs a build (npm run build).
import { startSensor } from "../dist/test/helpers/sensor.js";
import { TARGETS } from "../dist/test/fuzz/targets.js";

const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const only = process.env.FUZZ_ONLY ?? "";
const fixedSeed = process.env.FUZZ_SEED === undefined ? null : Number(process.env.FUZZ_SEED);
/** Runs per target per round: short rounds, so every target gets its turn often. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 50);

const t = await startSensor({ limits: { maxSessionsPerIp: 500 } });
const ctx = { smtpPort: t.port, webPort: t.sensor.listeners.find((l) => l.kind === "web").port, smtpBufferedBytes: () => t.sensor.smtp.maxBufferedBytes };
const deadline = Date.now() + seconds * 1000;
const targets = TARGETS.filter((x) => x.name.includes(only));
const counts = new Map(targets.map((x) => [x.name, { rounds: 0, failures: 0 }]));
let failures = 0;
let round = 0;
process.stderr.write(`fuzz: ${targets.length} targets for ${seconds} s\n`);
try {
  while (Date.now() < deadline && round < 1_000_000) {
    for (const target of targets) {
      if (Date.now() >= deadline) break;
      const seed = fixedSeed ?? (Math.random() * 2 ** 31) | 0;
      const c = counts.get(target.name);
      c.rounds++;
      try {
        await target.run(ctx, RUNS, seed);
      } catch (err) {
        failures++;
        c.failures++;
        process.stderr.write(`FAIL ${target.name} (seed ${seed}):\n${err?.message ?? err}\n\n`);
        if (fixedSeed !== null) break;
      }
    }
    round++;
    if (fixedSeed !== null) break;
  }
} finally {
  await t.close();
}
for (const [name, c] of counts) process.stdout.write(`${c.failures ? "FAIL" : "ok  "} ${name}: ${c.rounds} rounds x ${RUNS} runs, ${c.failures} failures\n`);
process.stdout.write(`fuzz: ${round} rounds in ${seconds} s, ${failures} failures\n`);
process.exit(failures ? 1 : 0);
