// The fuzz targets (test/fuzz/targets.ts), a short run each against a real in-process sensor. `npm run fuzz` runs
// the same targets for as long as FUZZ_SECONDS says.
import { after, before, describe, it } from "node:test";
import { startSensor, type TestSensor } from "../helpers/sensor.js";
import { TARGETS, type FuzzContext } from "../fuzz/targets.js";

/** Runs per target in CI (the pure targets multiply it: they are cheap). */
const RUNS = 15;

describe("fuzz targets (short run)", () => {
  let t: TestSensor;
  let ctx: FuzzContext;
  before(async () => {
    t = await startSensor({ limits: { maxSessionsPerIp: 500 } });
    ctx = { smtpPort: t.port, webPort: t.sensor.listeners.find((l) => l.kind === "web")!.port, smtpBufferedBytes: () => t.sensor.smtp.maxBufferedBytes };
  });
  after(() => t.close());

  for (const target of TARGETS) {
    it(target.name, async () => {
      await target.run(ctx, RUNS, Date.now() ^ 0x5eed);
    });
  }
});
