// End to end: the real CLI on port 0, real SMTP clients (nodemailer, swaks, Postfix's smtp-source), export, config
// errors, signals.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import nodemailer from "nodemailer";
import { openWriterDb } from "../../src/store/sqlite/db.js";
import { verifyPassword } from "../../src/web/auth.js";
import { CLI, runCli, startCli, tempDir, type CliProcess } from "../helpers/sensor.js";
import { SmtpClient } from "../helpers/smtp-client.js";

const exec = promisify(execFile);
const SENSOR_IP = "198.51.100.23";

/** The relay attempt from the 2013 article: 21 yahoo.com recipients, the tested IP glued to "paulette". */
const RCPTS = Array.from({ length: 21 }, (_, i) => `user${i + 1}@yahoo.com`);
const RELAY_TEST = [
  "From: test@live.com",
  `To: ${RCPTS[0]}`,
  `Subject: ${SENSOR_IP}@pauletteOpen Relay`,
  "Date: Sun, 1 Dez 2013 12:17:21 +0000",
  "Message-ID: <20131201121721.4711@live.com>",
  "",
  `${SENSOR_IP}`,
  "",
].join("\r\n");

/** Events in the JSONL log, re-read (bounded) until one matches: the log is written asynchronously. */
async function eventInLog(path: string, pred: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined> {
  for (let i = 0; i < 100; i++) {
    const events = existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
    const hit = events.find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

function sha256(b: Buffer | string): string {
  return createHash("sha256").update(b).digest("hex");
}

async function exportJsonl(dataDir: string, extra: string[] = []): Promise<Array<Record<string, any>>> {
  const r = await runCli(["export", "--data-dir", dataDir, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, any>);
}

describe("relaytrap run (real CLI)", () => {
  let cli: CliProcess;
  let dataDir: string;
  let smtpPort: number;
  let smtpsPort: number;

  before(async () => {
    dataDir = tempDir();
    cli = startCli([
      "run",
      "--data-dir", dataDir,
      "--smtp-listen", "127.0.0.1:0",
      "--smtps-listen", "127.0.0.1:0",
      "--web-listen", "127.0.0.1:0",
      "--sensor-ip", SENSOR_IP,
      "--hostname", "mx.example.net",
    ]);
    const listeners = await cli.listening;
    smtpPort = listeners.find((l) => l.kind === "smtp")!.port;
    smtpsPort = listeners.find((l) => l.kind === "smtps")!.port;
  });

  after(async () => {
    cli.child.kill("SIGTERM");
    await cli.exited;
  });

  it("prints one line per bound listener", () => {
    assert.ok(cli.stdout.some((l) => l === `relaytrap: listening smtp on 127.0.0.1:${smtpPort}`), cli.stdout.join("\n"));
    assert.ok(cli.stdout.some((l) => l === `relaytrap: listening smtps on 127.0.0.1:${smtpsPort}`));
  });

  it("traps the 21-recipient relay test sent by nodemailer and exports it classified", async () => {
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port: smtpPort, secure: false, ignoreTLS: true, name: "live.com" });
    const info = await transport.sendMail({ envelope: { from: "test@live.com", to: RCPTS }, raw: RELAY_TEST });
    assert.equal(info.accepted.length, 21);
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    transport.close();
    const rows = await exportJsonl(dataDir, ["--kind", "relay-test"]);
    const row = rows.find((r) => r.envelope.rcptTo.length === 21);
    assert.ok(row, JSON.stringify(rows).slice(0, 500));
    assert.equal(row.envelope.mailFrom, "test@live.com");
    assert.deepEqual(row.envelope.rcptTo, RCPTS);
    assert.equal(row.summary.subject, `${SENSOR_IP}@pauletteOpen Relay`);
    assert.equal(row.summary.date, "Sun, 1 Dez 2013 12:17:21 +0000");
    assert.equal(row.verdict.kind, "relay-test");
    assert.ok(row.verdict.testedIps.includes(SENSOR_IP));
    assert.equal(row.verdict.matchesSensor, true);
    assert.equal(Buffer.from(row.raw, "base64").toString(), RELAY_TEST);
    assert.equal(row.summary.sha256, sha256(RELAY_TEST));
  });

  it("takes mail over STARTTLS and SMTPS from swaks", async () => {
    const tls = await exec("swaks", ["--server", `127.0.0.1:${smtpPort}`, "-tls", "--from", "a@b.example", "--to", "x@yahoo.com", "--header", "Subject: via-starttls"]);
    assert.match(tls.stdout, /<~  250 2\.0\.0 Ok: queued as/);
    const tlsc = await exec("swaks", ["--server", `127.0.0.1:${smtpsPort}`, "-tlsc", "--from", "a@b.example", "--to", "x@yahoo.com", "--header", "Subject: via-smtps"]);
    assert.match(tlsc.stdout, /<~  250 2\.0\.0 Ok: queued as/);
    const subjects = (await exportJsonl(dataDir, ["--no-raw"])).map((r) => r.summary.subject);
    assert.ok(subjects.includes("via-starttls") && subjects.includes("via-smtps"), subjects.join(","));
  });

  it("records AUTH attempts that the persona refuses", async () => {
    const c = await SmtpClient.connect(smtpPort);
    await c.reply();
    await c.expect("EHLO bot", "250");
    await c.expect("AUTH PLAIN " + Buffer.from("\0spammer\0s3cret").toString("base64"), "503 5.5.1 Error: authentication not enabled");
    await c.quit();
    await c.closedPromise;
    const attempt = await eventInLog(join(dataDir, "events.jsonl"), (e) => e.eventid === "smtp.auth.attempt" && e.username === "spammer");
    assert.ok(attempt, "auth attempt not in events.jsonl");
    assert.equal(attempt.password, "s3cret");
    assert.equal(attempt.accepted, false);
  });

  it("takes a pipelined load from Postfix's smtp-source and exports every acknowledged message", async () => {
    const before = (await exportJsonl(dataDir, ["--no-raw"])).length;
    await exec("smtp-source", ["-s", "4", "-m", "40", "-c", "-l", "2048", "-f", "bulk@spam.example", "-t", "victim@yahoo.com", `127.0.0.1:${smtpPort}`]);
    const after = await exportJsonl(dataDir, ["--no-raw"]);
    assert.equal(after.length - before, 40);
  });

  it("exports mbox", async () => {
    const r = await runCli(["export", "--data-dir", dataDir, "--format", "mbox"]);
    assert.equal(r.code, 0);
    const separators = r.stdout.split("\n").filter((l) => /^From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(l));
    const count = (await exportJsonl(dataDir, ["--no-raw"])).filter((x) => x.bodyStored).length;
    assert.equal(separators.length, count);
  });

  it("reopens the event log on SIGHUP", async () => {
    const log = join(dataDir, "events.jsonl");
    renameSync(log, log + ".1");
    cli.child.kill("SIGHUP");
    // The reopen is asynchronous: poll the file system with a bounded number of short SMTP sessions.
    for (let i = 0; i < 50 && !existsSync(log); i++) {
      const c = await SmtpClient.connect(smtpPort);
      await c.reply();
      await c.quit();
      await c.closedPromise;
    }
    assert.ok(existsSync(log), "events.jsonl was not recreated");
    const c = await SmtpClient.connect(smtpPort);
    await c.reply();
    await c.quit();
    await c.closedPromise;
    assert.ok(await eventInLog(log, (e) => e.eventid === "smtp.session.closed"), "no events after reopen");
    const events = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of events) {
      for (const k of ["eventid", "timestamp", "sensor", "session", "protocol", "src_ip", "src_port", "dest_ip", "dest_port"]) assert.ok(k in e, `${k} missing`);
      assert.match(String(e.timestamp), /Z$/);
    }
  });
});

describe("one truth about delivery (issue 17.7)", () => {
  it("`delivery status --config FILE` reads the sensor's config and says what the API says", async () => {
    const dir = tempDir();
    const file = join(dir, "relaytrap.yaml");
    writeFileSync(file, `dataDir: ${dir}\nsmtpListen: ['127.0.0.1:0']\nwebListen: '127.0.0.1:0'\ndelivery:\n  enabled: true\n  dryRun: true\n  smarthost: '127.0.0.1:9'\n`);
    const cli = startCli(["run", "--config", file]);
    try {
      const web = (await cli.listening).find((l) => l.kind === "web")!;
      const api = async () => ((await (await fetch(`http://${web.address}/api/v1/delivery/kill-switch`)).json()) as { state: Record<string, unknown> }).state;
      const status = async () => {
        const r = await runCli(["delivery", "status", "--config", file]);
        assert.equal(r.code, 0, r.stderr);
        const { switch: _s, queued: _q, last24h: _l, dropboxes: _d, ...state } = JSON.parse(r.stdout) as Record<string, unknown>;
        return state;
      };
      assert.deepEqual(await status(), { configEnabled: true, killSwitchEngaged: false, dryRun: true, effective: "dry run", sending: false });
      assert.deepEqual(await api(), await status());
      assert.equal((await runCli(["delivery", "off", "--config", file])).code, 0);
      assert.equal((await status()).effective, "stopped (kill switch)");
      assert.deepEqual(await api(), await status());
      // Without the sensor's config the CLI reads the defaults: delivery off by config.
      assert.equal((await runCli(["delivery", "status", "--data-dir", dir])).stdout.includes('"effective": "off (config)"'), true);
    } finally {
      cli.child.kill("SIGTERM");
      await cli.exited;
    }
  });
});

describe("help everywhere (issue 17.8)", () => {
  const COMMANDS = ["run", "export", "analyze", "reanalyze", "check-config", "doctor", "delivery", "import", "demo", "hash-password",
    "collector", "collector-token", "collector-dropbox", "report", "feed", "help"];

  it("`relaytrap COMMAND --help` (and -h, and `help COMMAND`) prints the command's usage on stdout, exit 0", async () => {
    const top = await runCli(["help"]);
    assert.equal(top.code, 0);
    for (const cmd of COMMANDS) {
      assert.ok(top.stdout.includes(`  relaytrap ${cmd}`), `${cmd} missing from relaytrap help`);
      for (const args of cmd === "run" || cmd === "feed" ? [[cmd, "--help"], [cmd, "-h"], ["help", cmd]] : [[cmd, "--help"]]) {
        const r = await runCli(args);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(r.stderr, "");
        assert.ok(r.stdout.startsWith(`Usage: relaytrap ${cmd}`), `${args.join(" ")}: ${r.stdout}`);
      }
    }
    // After other arguments too, and for commands with an action word.
    assert.match((await runCli(["delivery", "status", "--help"])).stdout, /^Usage: relaytrap delivery off\|on\|status/);
    assert.match((await runCli(["run", "--data-dir", "/nonexistent", "--help"])).stdout, /--smtp-listen HOST:PORT/);
  });

  it("a bad flag or argument: one line saying what, then the command's usage line, exit 2", async () => {
    for (const [args, what] of [
      [["run", "--bogus"], /^relaytrap: Unknown option '--bogus'\nusage: relaytrap run \[options\]  \(relaytrap run --help\)\n$/],
      [["export", "--format", "xml"], /^relaytrap: --format: expected jsonl or mbox, got "xml"\nusage: relaytrap export /],
      [["delivery", "sideways"], /^relaytrap: delivery: expected on, off or status\nusage: relaytrap delivery off\|on\|status/],
      [["analyze"], /^relaytrap: analyze: expected exactly one FILE\.eml\nusage: relaytrap analyze FILE\.eml/],
      [["frobnicate"], /^relaytrap: unknown command "frobnicate"\nusage: relaytrap COMMAND/],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.stdout, "");
      assert.match(r.stderr, what);
      assert.doesNotMatch(r.stderr, /To specify a positional/);
    }
  });

  it("export, reanalyze and analyze read the sensor's config (--config): its dataDir and sensorIps", async () => {
    const dir = tempDir();
    openWriterDb(join(dir, "relaytrap.db")).close();
    const file = join(dir, "c.yaml");
    writeFileSync(file, `dataDir: ${dir}\nsensorIps: ['${SENSOR_IP}']\n`);
    const exp = await runCli(["export", "--config", file]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal((await runCli(["reanalyze", "--config", file])).code, 0);
    writeFileSync(join(dir, "t.eml"), RELAY_TEST);
    const v = await runCli(["analyze", join(dir, "t.eml"), "--config", file]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal((JSON.parse(v.stdout) as { matchesSensor: boolean }).matchesSensor, true);
  });
});

describe("hash-password (issue 17.8)", () => {
  it("piped: hashes the line on stdin", async () => {
    const child = spawn(process.execPath, [CLI, "hash-password"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stdin.end("correct horse\n");
    assert.equal(await new Promise((r) => child.once("close", r)), 0);
    assert.ok(await verifyPassword("correct horse", out.trim()));
  });

  /** hash-password on a terminal (util-linux `script` makes the pty): answers typed after each prompt. */
  async function onTerminal(answers: string[]): Promise<{ code: number; out: string }> {
    const child = spawn("script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} hash-password; echo "rc=$?"`, "/dev/null"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let prompts = 0;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      // Type the next answer once its prompt is out (raw mode is on by then: nothing typed is echoed by the terminal).
      const seen = (out.match(/Password: |Again: /g) ?? []).length;
      while (prompts < seen && prompts < answers.length) child.stdin.write(answers[prompts++] + "\r");
    });
    const exited = new Promise<void>((r) => child.once("close", () => r()));
    await new Promise<void>((r) => child.stdout.once("end", () => r()));
    await exited;
    const code = Number(/rc=(\d+)/.exec(out)?.[1] ?? NaN);
    return { code, out };
  }

  it("on a terminal: asks twice without echo; two different answers are refused", { skip: !existsSync("/usr/bin/script") && "no util-linux script" }, async () => {
    const ok = await onTerminal(["tr0ub4dor&3", "tr0ub4dor&3"]);
    assert.equal(ok.code, 0, ok.out);
    assert.doesNotMatch(ok.out, /tr0ub4dor/, "the password is not echoed");
    const hash = /scrypt\$\S+/.exec(ok.out)?.[0];
    assert.ok(hash && (await verifyPassword("tr0ub4dor&3", hash)), ok.out);
    const differ = await onTerminal(["one", "two"]);
    assert.equal(differ.code, 1);
    assert.match(differ.out, /relaytrap: hash-password: the two passwords differ/);
  });
});

describe("demo's temporary data (issue 17.8)", () => {
  async function demoDir(extra: string[]): Promise<{ dir: string; exited: CliProcess["exited"] }> {
    const cli = startCli(["demo", "--web-listen", "127.0.0.1:0", "--days", "1", "--interval-ms", "1000", ...extra]);
    await cli.listening;
    const dir = /^relaytrap: ready \(data in (.+)\)$/.exec(cli.stdout.find((l) => l.startsWith("relaytrap: ready")) ?? "")?.[1];
    assert.ok(dir && existsSync(dir), cli.stdout.join("\n"));
    cli.child.kill("SIGTERM");
    return { dir, exited: cli.exited };
  }

  it("removes its temporary data directory on exit", async () => {
    const { dir, exited } = await demoDir([]);
    assert.deepEqual(await exited, { code: 0, signal: null });
    assert.equal(existsSync(dir), false, `${dir} left behind`);
  });

  it("keeps it with --keep", async () => {
    const { dir, exited } = await demoDir(["--keep"]);
    assert.deepEqual(await exited, { code: 0, signal: null });
    assert.ok(existsSync(join(dir, "relaytrap.db")));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("npm start (issue 17.8)", () => {
  it("stops its sensor on SIGTERM: no orphan left listening", { skip: process.platform === "win32" && "POSIX only" }, async () => {
    const root = fileURLToPath(new URL("../../..", import.meta.url));
    const env = { ...process.env, RELAYTRAP_DATA_DIR: tempDir(), RELAYTRAP_SMTP_LISTEN: "127.0.0.1:0", RELAYTRAP_WEB_LISTEN: "127.0.0.1:0" };
    const npm = spawn("npm", ["start", "--silent"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    // "exit", not "close": an orphaned sensor would hold the pipes open.
    const exited = new Promise<void>((r) => npm.once("exit", () => r()));
    let out = "";
    npm.stdout.setEncoding("utf8");
    const port = await new Promise<number>((resolve, reject) => {
      npm.stdout.on("data", (d: string) => {
        out += d;
        const m = /listening smtp on 127\.0\.0\.1:(\d+)\n[^]*relaytrap: ready/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void exited.then(() => reject(new Error(`npm start exited: ${out}`)));
    });
    const descendants = (pid: number): number[] => {
      let kids: number[] = [];
      try {
        for (const t of readdirSync(`/proc/${pid}/task`)) kids.push(...readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ").filter(Boolean).map(Number));
      } catch {
        kids = [];
      }
      return kids.flatMap((k) => [k, ...descendants(k)]);
    };
    const started = descendants(npm.pid!);
    npm.kill("SIGTERM");
    await exited;
    // If the test fails, do not leave the orphan running: end exactly the processes npm had started.
    after(() => {
      for (const pid of started) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    });
    // npm is gone; so must be the sensor it started (before the fix, 'sh -c' died and the sensor kept listening).
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(false);
      });
      s.once("error", () => resolve(true));
    });
    assert.ok(refused, `a sensor still listens on ${port} after npm start got SIGTERM: ${out}`);
    assert.match(out, /relaytrap: SIGTERM, stopping/);
  });
});

describe("relaytrap CLI errors", () => {
  it("rejects an unknown config key with exit 2 naming it", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "c.yaml"), "dataDir: " + dir + "\nsmtpListen: ['127.0.0.1:0']\nbogusKey: 1\n");
    const r = await runCli(["run", "--config", join(dir, "c.yaml")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^relaytrap: config: bogusKey: unknown key\n$/);
  });

  it("rejects an enrichment database that cannot be read with exit 2 naming the key", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "c.yaml"), `dataDir: ${dir}\nsmtpListen: ['127.0.0.1:0']\nwebListen: 127.0.0.1:0\nenrich: { countryDb: ${join(dir, "missing.mmdb")} }\n`);
    const r = await runCli(["run", "--config", join(dir, "c.yaml")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^relaytrap: config: enrich\.countryDb: cannot read .*missing\.mmdb: ENOENT\n$/);
  });

  it("lists every bad config key at once, one line each, exit 2 (issue 17.8)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "c.yaml"), "dataDir: " + dir + "\nbogusKey: 1\npersona: qmail\nlimits:\n  maxLineBytes: -1\n");
    const r = await runCli(["check-config", "--config", join(dir, "c.yaml")], { RELAYTRAP_RDNS_ENABLED: "perhaps" });
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 4, r.stderr);
    for (const key of ["bogusKey", "persona", "limits.maxLineBytes", "RELAYTRAP_RDNS_ENABLED"]) {
      assert.ok(lines.some((l) => l.startsWith(`relaytrap: config: ${key}: `)), `${key} missing: ${r.stderr}`);
    }
  });

  it("rejects a bad value from the environment with exit 2 naming the key", async () => {
    const r = await runCli(["run", "--data-dir", tempDir(), "--smtp-listen", "127.0.0.1:0"], { RELAYTRAP_LIMITS_MAX_LINE_BYTES: "lots" });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /RELAYTRAP_LIMITS_MAX_LINE_BYTES: expected a number/);
    const r2 = await runCli(["run", "--data-dir", tempDir(), "--smtp-listen", "nonsense"]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /config: smtpListen\.0: expected HOST:PORT/);
    const r3 = await runCli(["run", "--persona", "qmail"]);
    assert.equal(r3.code, 2);
    assert.match(r3.stderr, /config: persona:/);
  });

  it("takes a value from a *_FILE and reports a busy port in one line", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "host"), "secret-host.example.com\n");
    const cli = startCli(["run", "--data-dir", dir, "--smtp-listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"], { env: { RELAYTRAP_HOSTNAME_FILE: join(dir, "host") } });
    const [l] = await cli.listening;
    const c = await SmtpClient.connect(l!.port);
    assert.deepEqual(await c.reply(), ["220 secret-host.example.com ESMTP Postfix (Debian/GNU)"]);
    await c.quit();
    const busy = await runCli(["run", "--data-dir", tempDir(), "--smtp-listen", `127.0.0.1:${l!.port}`, "--web-listen", "127.0.0.1:0"]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /^relaytrap: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE\n$/);
    cli.child.kill("SIGINT");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
  });

  it("fails clearly on usage errors, missing stores and non-messages", async () => {
    assert.equal((await runCli(["frobnicate"])).code, 2);
    const missing = await runCli(["export", "--data-dir", join(tempDir(), "nope")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^relaytrap: no relaytrap store at /);
    const dir = tempDir();
    writeFileSync(join(dir, "junk.bin"), Buffer.from([0, 1, 2, 3, 255]));
    const junk = await runCli(["analyze", join(dir, "junk.bin")]);
    assert.equal(junk.code, 2);
    assert.match(junk.stderr, /is not an RFC 5322 message/);
    assert.equal((await runCli(["analyze", join(dir, "absent.eml")])).code, 2);
  });

  it("analyzes one message from a file", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "t.eml"), RELAY_TEST);
    const r = await runCli(["analyze", join(dir, "t.eml"), "--sensor-ip", SENSOR_IP, "--mail-from", "test@live.com", ...RCPTS.flatMap((x) => ["--rcpt", x])]);
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout) as { kind: string; testedIps: string[]; matchesSensor: boolean; dropboxes: string[] };
    assert.equal(v.kind, "relay-test");
    assert.deepEqual(v.testedIps, [SENSOR_IP]);
    assert.equal(v.matchesSensor, true);
    assert.equal(v.dropboxes.length, 21);
    assert.equal((v as { confidence?: string }).confidence, "certain");
    const x = await runCli(["analyze", join(dir, "t.eml"), "--explain", "--sensor-ip", SENSOR_IP, "--rcpt", RCPTS[0]!]);
    assert.equal(x.code, 0, x.stderr);
    assert.match(x.stdout, /^verdict: relay-test, confidence certain/);
    assert.match(x.stdout, /why: certain: plain-ip in subject/);
    assert.match(x.stdout, /^acts: yes/m);
  });
});

describe("a damaged store (relaytrap.db)", () => {
  /** A real, checkpointed store file, then bytes overwritten: the header (not a database) or pages in the middle. */
  function damagedStore(where: "header" | "middle"): string {
    const dir = tempDir();
    openWriterDb(join(dir, "relaytrap.db")).close();
    const file = join(dir, "relaytrap.db");
    const size = statSync(file).size;
    const fd = openSync(file, "r+");
    if (where === "header") writeSync(fd, Buffer.alloc(100, "garbage!"), 0, 100, 0);
    else writeSync(fd, Buffer.alloc(Math.floor(size / 2), 0xa5), 0, Math.floor(size / 2), 8192);
    closeSync(fd);
    return dir;
  }

  for (const [where, error] of [
    ["header", /file is not a database \(SQLITE_NOTADB\)/],
    ["middle", /database disk image is malformed \(SQLITE_CORRUPT\)/],
  ] as const) {
    it(`run and doctor name the file, SQLite's error and the way out (${where} overwritten)`, async () => {
      const dir = damagedStore(where);
      const file = join(dir, "relaytrap.db");
      const run = await runCli(["run", "--data-dir", dir, "--smtp-listen", "127.0.0.1:0"]);
      assert.equal(run.code, 1);
      const lines = run.stderr.trim().split("\n");
      assert.equal(lines.length, 1, run.stderr);
      assert.ok(lines[0]!.startsWith(`relaytrap: store ${file}: `), run.stderr);
      assert.match(lines[0]!, error);
      assert.match(lines[0]!, /move it aside/);
      assert.match(lines[0]!, /relaytrap export/);
      assert.doesNotMatch(run.stderr, /undefined/);

      const doctor = await runCli(["doctor", "--data-dir", dir]);
      assert.equal(doctor.code, 1);
      const store = doctor.stdout.split("\n").filter((l) => /^\S+\s+store\b/.test(l));
      assert.equal(store.length, 1, doctor.stdout);
      assert.match(store[0]!, /^FAIL  store {12}/);
      assert.ok(store[0]!.includes(file), store[0]);
      assert.match(store[0]!, /move it aside/);
      assert.match(store[0]!, /relaytrap export/);
    });
  }

  it("doctor says an intact store is ok", async () => {
    const dir = tempDir();
    openWriterDb(join(dir, "relaytrap.db")).close();
    const doctor = await runCli(["doctor", "--data-dir", dir]);
    assert.match(doctor.stdout, /^ok {4}store {12}.*relaytrap\.db: quick_check ok/m);
  });
});
