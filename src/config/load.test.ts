// Config loading: defaults, YAML, env overrides with *_FILE secrets, precedence, and errors naming the key.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/sensor.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkWebListen, ConfigError, envOverrides, loadConfig, renderConfig } from "./load.js";

function yaml(text: string): string {
  const p = join(tempDir(), "relaytrap.yaml");
  writeFileSync(p, text);
  return p;
}

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail("no ConfigError");
}

describe("config", () => {
  it("has working defaults", () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.dataDir, "./data");
    assert.deepEqual(c.smtpListen, ["0.0.0.0:2525"]);
    assert.equal(c.webListen, "127.0.0.1:8025");
    assert.equal(c.persona, "postfix");
    assert.equal(c.limits.maxLineBytes, 2048);
    assert.equal(c.limits.hardErrorLimit, 20);
    assert.equal(c.auth.enabled, false);
  });

  it("layers defaults < file < env < flags", () => {
    const file = yaml("persona: exim\nsmtpListen: ['127.0.0.1:25']\nlimits:\n  maxRcptPerTxn: 50\n");
    const c = loadConfig({
      configFile: file,
      env: { RELAYTRAP_PERSONA: "sendmail", RELAYTRAP_LIMITS_MAX_LINE_BYTES: "999", RELAYTRAP_AUTH_ENABLED: "yes" },
      flags: { persona: "postfix" },
    });
    assert.equal(c.persona, "postfix");
    assert.deepEqual(c.smtpListen, ["127.0.0.1:25"]);
    assert.equal(c.limits.maxRcptPerTxn, 50);
    assert.equal(c.limits.maxLineBytes, 999);
    assert.equal(c.limits.hardErrorLimit, 20);
    assert.equal(c.auth.enabled, true);
  });

  it("splits list env values and reads *_FILE secrets", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "name"), "sensor-7\n");
    const env = envOverrides({ RELAYTRAP_SMTP_LISTEN: "0.0.0.0:25, [::]:25", RELAYTRAP_SENSOR_NAME_FILE: join(dir, "name") });
    assert.deepEqual(env.smtpListen, ["0.0.0.0:25", "[::]:25"]);
    assert.equal(env.sensorName, "sensor-7");
    assert.match(configError(() => envOverrides({ RELAYTRAP_HOSTNAME_FILE: join(dir, "absent") })).message, /RELAYTRAP_HOSTNAME_FILE: cannot read .*ENOENT/);
  });

  it("names the key and the reason for every bad input", () => {
    assert.equal(configError(() => loadConfig({ configFile: yaml("nope: 1\n"), env: {} })).key, "nope");
    assert.equal(configError(() => loadConfig({ configFile: yaml("limits:\n  maxLinBytes: 5\n"), env: {} })).key, "limits.maxLinBytes");
    const bad = configError(() => loadConfig({ configFile: yaml("limits:\n  maxLineBytes: -5\n"), env: {} }));
    assert.equal(bad.key, "limits.maxLineBytes");
    assert.equal(configError(() => loadConfig({ flags: { sensorIps: ["999.1.1.1"] }, env: {} })).key, "sensorIps.0");
    assert.equal(configError(() => loadConfig({ env: { RELAYTRAP_RDNS_ENABLED: "perhaps" } })).key, "RELAYTRAP_RDNS_ENABLED");
    assert.equal(configError(() => loadConfig({ configFile: yaml("- a\n- b\n"), env: {} })).key, "config");
    assert.equal(configError(() => loadConfig({ configFile: yaml("a: [\n"), env: {} })).key, "config");
    assert.equal(configError(() => loadConfig({ configFile: "/nonexistent/relaytrap.yaml", env: {} })).key, "config");
    assert.equal(configError(() => loadConfig({ configFile: yaml("tls:\n  cert: /x.pem\n"), env: {} })).key, "tls");
  });

  it("lists every bad key at once, the environment's with the file's, one line each (issue 17.8)", () => {
    const err = configError(() =>
      loadConfig({
        configFile: yaml("bogus: 1\nlimits:\n  maxLineBytes: -5\n  maxLinBytes: 3\npersona: qmail\nsmtpListen: [nonsense]\n"),
        env: { RELAYTRAP_RDNS_ENABLED: "perhaps", RELAYTRAP_DELIVERY_MAX_PER_DAY: "lots" },
      }),
    );
    const keys = err.issues.map((i) => i.key).sort();
    assert.deepEqual(keys, ["RELAYTRAP_DELIVERY_MAX_PER_DAY", "RELAYTRAP_RDNS_ENABLED", "bogus", "limits.maxLinBytes", "limits.maxLineBytes", "persona", "smtpListen.0"]);
    const lines = err.message.split("\n");
    assert.equal(lines.length, keys.length);
    for (const l of lines) assert.match(l, /^config: \S+: \S/);
    assert.ok(lines.includes("config: bogus: unknown key"), err.message);
  });
});

it("docs/config.example.yaml lists every key with its default (regenerate: relaytrap check-config)", () => {
  const doc = readFileSync(fileURLToPath(new URL("../../../docs/config.example.yaml", import.meta.url)), "utf8");
  assert.equal(doc, renderConfig(loadConfig({ env: {} })));
});

describe("web listen exposure (issue 14)", () => {
  const lookupOf =
    (table: Record<string, string[]>) =>
    async (host: string): Promise<string[]> => {
      const a = table[host];
      if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
      return a;
    };
  const hash = "scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==";

  it("a name that resolves off loopback needs web.users, however it is spelled", async () => {
    const lookup = lookupOf({ "127.rt-trap": ["192.0.2.10"], mixed: ["127.0.0.1", "192.0.2.10"], "lo.example": ["127.0.0.1", "::1"] });
    await assert.rejects(checkWebListen(loadConfig({ env: {}, flags: { webListen: "127.rt-trap:8081" } }), lookup), (err: unknown) => err instanceof ConfigError && err.key === "web.users");
    await assert.rejects(checkWebListen(loadConfig({ env: {}, flags: { webListen: "mixed:8081" } }), lookup), (err: unknown) => err instanceof ConfigError && err.key === "web.users");
    await assert.rejects(checkWebListen(loadConfig({ env: {}, flags: { webListen: "nowhere:8081" } }), lookup), (err: unknown) => err instanceof ConfigError && err.key === "webListen");
    await checkWebListen(loadConfig({ env: {}, flags: { webListen: "lo.example:8081" } }), lookup);
    await checkWebListen(loadConfig({ env: {}, flags: { webListen: "localhost:8081" } }));
    await checkWebListen(loadConfig({ env: {}, flags: { webListen: "127.rt-trap:8081", web: { users: [{ name: "a", passwordHash: hash }] } } }), lookup);
  });
});
