// `demo`: a sensor with back-dated history and a live stream, in a temporary data dir unless --keep.
import { UsageError, parse, stopOnSignals } from "./args.js";
import { loadConfig } from "../config/load.js";

export async function cmdDemo(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    "data-dir": { type: "string" },
    "web-listen": { type: "string" },
    "smtp-listen": { type: "string", multiple: true },
    days: { type: "string" },
    "interval-ms": { type: "string" },
    keep: { type: "boolean" },
  });
  const days = Number(values.days ?? "420");
  const intervalMs = Number(values["interval-ms"] ?? "2500");
  if (!Number.isInteger(days) || days < 0 || days > 20 * 365) throw new UsageError("--days: expected a whole number of days (0..7300)");
  if (!Number.isInteger(intervalMs) || intervalMs < 50) throw new UsageError("--interval-ms: expected milliseconds (>= 50)");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { runDemo, DEMO_SENSOR_IP } = await import("../web/demo.js");
  const dataDir = values["data-dir"] ?? mkdtempSync(join(tmpdir(), "relaytrap-demo-"));
  // A temporary data directory is the demo's own: removed however the process ends (after a graceful stop, the store
  // is closed by then), unless --keep. A --data-dir is the operator's and always stays.
  const temporary = values["data-dir"] === undefined && !values.keep;
  if (temporary) {
    process.on("exit", () => {
      try {
        rmSync(dataDir, { recursive: true, force: true });
        process.stdout.write(`relaytrap: demo: removed ${dataDir}\n`);
      } catch (err) {
        process.stderr.write(`relaytrap: demo: could not remove ${dataDir}: ${(err as Error).message}\n`);
      }
    });
  }
  const config = loadConfig({
    flags: {
      dataDir,
      smtpListen: values["smtp-listen"] ?? ["127.0.0.1:0"],
      webListen: values["web-listen"] ?? "127.0.0.1:8025",
      sensorIps: [DEMO_SENSOR_IP],
      hostname: "mail.example.org",
    },
  });
  process.stdout.write(
    `relaytrap: demo: data in ${dataDir}${temporary ? " (removed on exit; --keep keeps it)" : ""}${days > 0 ? `, seeding ${days} days of history` : ""}\n`,
  );
  const demo = await runDemo(config, { days, intervalMs });
  for (const l of demo.sensor.listeners) process.stdout.write(`relaytrap: listening ${l.kind} on ${l.address}\n`);
  const web = demo.sensor.listeners.find((l) => l.kind === "web");
  if (web) process.stdout.write(`relaytrap: demo: open http://${web.address}/\n`);
  stopOnSignals(() => demo.close());
  process.stdout.write(`relaytrap: ready (data in ${dataDir})\n`);
}
