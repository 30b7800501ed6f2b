// `run` (the sensor), `doctor` and `check-config`.
import { die, parse, configOf, stopOnSignals } from "./args.js";
import { checkWebListen, ConfigError, loadConfig, type RawConfig } from "../config/load.js";

export const RUN_FLAGS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  "smtp-listen": { type: "string", multiple: true },
  "smtps-listen": { type: "string", multiple: true },
  "proxy-listen": { type: "string", multiple: true },
  "web-listen": { type: "string" },
  "sensor-ip": { type: "string", multiple: true },
  hostname: { type: "string" },
  persona: { type: "string" },
  "collector-url": { type: "string" },
  "collector-token": { type: "string" },
} as const;

export function runFlagsToConfig(v: Record<string, unknown>): RawConfig {
  const map: Record<string, string> = {
    "data-dir": "dataDir",
    "collector-url": "collectorUrl",
    "collector-token": "collectorToken",
    "smtp-listen": "smtpListen",
    "smtps-listen": "smtpsListen",
    "proxy-listen": "proxyListen",
    "web-listen": "webListen",
    "sensor-ip": "sensorIps",
    hostname: "hostname",
    persona: "persona",
  };
  const out: RawConfig = {};
  for (const [flag, key] of Object.entries(map)) if (v[flag] !== undefined) out[key] = v[flag];
  return out;
}

export async function cmdRun(argv: string[]): Promise<void> {
  const { values } = parse(argv, RUN_FLAGS);
  const config = loadConfig({ configFile: values.config, flags: runFlagsToConfig(values) });
  await checkWebListen(config);
  const { createSensor } = await import("../sensor.js");
  let sensor: Awaited<ReturnType<typeof createSensor>>;
  try {
    sensor = await createSensor(config);
  } catch (err) {
    if (err instanceof ConfigError) die(err.message, 2); // e.g. an enrich.countryDb that cannot be read
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code === "EADDRINUSE" || e.code === "EACCES" || e.code === "EADDRNOTAVAIL") {
      die(`cannot listen on ${e.address ?? "?"}:${e.port ?? "?"}: ${e.code}`, 1);
    }
    die(e.message, 1);
  }
  for (const l of sensor.listeners) process.stdout.write(`relaytrap: listening ${l.kind} on ${l.address}\n`);
  const { openFilesCheck } = await import("../doctor.js");
  const files = openFilesCheck(config);
  if (files.level !== "ok") process.stderr.write(`relaytrap: warning: open files: ${files.detail}\n`);
  // Handlers before "ready": a supervisor (or a test) may signal as soon as it reads that line, and a SIGTERM that
  // arrives before them kills the process with the default action instead of stopping it gracefully.
  stopOnSignals(() => sensor.close());
  process.on("SIGHUP", () => sensor.reopenLogs());
  process.stdout.write(`relaytrap: ready (data in ${config.dataDir})\n`);
}

export async function cmdDoctor(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: "string" }, "data-dir": { type: "string" } });
  const config = configOf(values);
  const { runDoctor, formatChecks } = await import("../doctor.js");
  const checks = await runDoctor(config);
  process.stdout.write(formatChecks(checks));
  if (checks.some((c) => c.level === "FAIL")) process.exitCode = 1;
}

export async function cmdCheckConfig(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: "string" } });
  const config = loadConfig({ configFile: values.config });
  const { renderConfig } = await import("../config/load.js");
  process.stdout.write(renderConfig(config));
}
