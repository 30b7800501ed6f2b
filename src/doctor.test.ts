// relaytrap doctor: each check reports ok/warn/FAIL from the real machine state.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { it } from "node:test";
import { tempDir, runCli } from "../test/helpers/sensor.js";
import { configSchema } from "./config/schema.js";
import { memoryCheck, memoryLimit, openFileLimit, openFilesCheck, runDoctor } from "./doctor.js";

it("reports a busy port, an unusable data dir, sensor IPs behind NAT, delivery on, and an exposed web UI", async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
  const port = (busy.address() as { port: number }).port;
  const file = join(tempDir(), "not-a-dir");
  writeFileSync(file, "x");
  try {
    const checks = await runDoctor(
      configSchema.parse({
        dataDir: join(file, "data"),
        smtpListen: [`127.0.0.1:${port}`],
        webListen: "0.0.0.0:0",
        sensorIps: ["198.51.100.23"],
        delivery: { enabled: true, smarthost: "127.0.0.1:2526" },
      }),
    );
    const by = (name: string) => checks.find((c) => c.name === name)!;
    assert.equal(by("listen smtp").level, "warn");
    assert.match(by("listen smtp").detail, /in use/);
    assert.equal(by("data dir").level, "FAIL");
    assert.match(by("sensor IPs").detail, /198\.51\.100\.23 not on an interface here/);
    assert.equal(by("delivery").level, "warn");
    assert.match(by("delivery").detail, /ON via smarthost 127\.0\.0\.1:2526; caps: 20\/day/);
    assert.equal(by("web exposure").level, "FAIL");
  } finally {
    busy.close();
  }
});

it("judges web exposure by what the listen host resolves to, not by its spelling (issue 14)", async () => {
  const lookup = async (host: string) => (host === "127.rt-trap" ? ["192.0.2.10"] : host === "lo.test" ? ["127.0.0.1", "::1"] : []);
  const exposure = async (webListen: string) =>
    (await runDoctor(configSchema.parse({ dataDir: tempDir(), smtpListen: [], webListen }), lookup)).find((c) => c.name === "web exposure")!;
  const off = await exposure("127.rt-trap:0");
  assert.equal(off.level, "FAIL");
  assert.match(off.detail, /192\.0\.2\.10/);
  assert.equal((await exposure("lo.test:0")).level, "ok");
  assert.equal((await exposure("nothing.test:0")).level, "FAIL");
});

it("exits 0 when nothing fails and 1 when something does", async () => {
  const ok = await runCli(["doctor", "--data-dir", tempDir()], { RELAYTRAP_SMTP_LISTEN: "127.0.0.1:0", RELAYTRAP_WEB_LISTEN: "127.0.0.1:0" });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^ok {4}data dir/m);
  const file = join(tempDir(), "f");
  writeFileSync(file, "x");
  const bad = await runCli(["doctor", "--data-dir", join(file, "d")], { RELAYTRAP_SMTP_LISTEN: "127.0.0.1:0", RELAYTRAP_WEB_LISTEN: "127.0.0.1:0" });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^FAIL {2}data dir/m);
});

it("warns when the session limits can exceed the open-files limit", () => {
  const config = configSchema.parse({ limits: { maxSessions: 30_000 }, proxyListen: ["127.0.0.1:0"] });
  const low = openFilesCheck(config, 20_000);
  assert.equal(low.level, "warn");
  assert.match(low.detail, /limit 20000 is below limits\.maxSessions \+ proxy\.limits\.maxSessions \+ 64 = 32064/);
  assert.equal(openFilesCheck(config, 65_536).level, "ok");
  assert.equal(openFilesCheck(config, null).level, "ok");
  // This machine's own limit is read from /proc.
  assert.ok((openFileLimit() ?? 1) > 0);
});

it("warns when the analysis workers at their heap cap and a busy sensor do not fit in memory", () => {
  const config = configSchema.parse({});
  const small = memoryCheck(config, 512 * 2 ** 20);
  assert.equal(small.level, "warn");
  assert.match(small.detail, /512 MB is below ~400 MB busy \+ analysis\.workers 2 x \(analysis\.maxHeapMb 256 \+ 30\) = 972 MB/);
  assert.equal(memoryCheck(config, 2 * 2 ** 30).level, "ok");
  assert.equal(memoryCheck(configSchema.parse({ analysis: { workers: 1, maxHeapMb: 64 } }), 512 * 2 ** 20).level, "ok");
  // This machine's memory, or its cgroup's limit.
  assert.ok(memoryLimit() > 0);
  assert.equal(memoryLimit("/nonexistent"), memoryLimit("/proc/self/status"));
});
