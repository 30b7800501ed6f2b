// `relaytrap import`, `hash-password`, `demo` and the web listener of `run`, through the real CLI.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CLI, runCli, startCli, tempDir } from "../../test/helpers/sensor.js";
import { openSqliteReader } from "../store/sqlite/reader.js";
import { verifyPassword } from "./auth.js";
import { originalDate, receivedFromIp } from "./import.js";

function msg(n: number, opts: { received?: string; date?: string; subject?: string } = {}): string {
  return [
    ...(opts.received ? [`Received: from scanner.example ([192.0.2.${n}]) by mail.example.org with SMTP id Q${n}; ${opts.received}`] : []),
    "From: tester@dropbox.example",
    "To: dropbox@dropbox.example",
    `Subject: ${opts.subject ?? `Relay test 198.51.100.23 #${n}`}`,
    ...(opts.date ? [`Date: ${opts.date}`] : []),
    "",
    opts.subject ? "buy now, cheap" : `relay test ${n}`,
    "From the desk of nobody", // a body line starting with "From " (quoted in mbox)
    "",
  ].join("\r\n");
}

function mbox(messages: string[]): string {
  return messages.map((m, i) => `From tester@dropbox.example Mon Jan  2 10:00:0${i} 2012\n` + m.replace(/\r\n/g, "\n").replace(/^From /gm, ">From ") + "\n").join("");
}

describe("relaytrap import", () => {
  test("header dates and client addresses", () => {
    const now = Date.UTC(2024, 0, 1);
    const raw = Buffer.from(msg(7, { received: "Sun, 1 Dec 2013 12:17:21 +0000", date: "Mon, 2 Jan 2012 10:00:00 +0000" }));
    assert.equal(originalDate(raw, null, now), Date.UTC(2013, 11, 1, 12, 17, 21));
    assert.equal(originalDate(Buffer.from(msg(7, { date: "Mon, 2 Jan 2012 10:00:00 +0000" })), null, now), Date.UTC(2012, 0, 2, 10));
    assert.equal(originalDate(Buffer.from(msg(7, { date: "garbage" })), 12345, now), now, "implausible fallback -> now");
    assert.equal(receivedFromIp(raw), "192.0.2.7");
    assert.equal(receivedFromIp(Buffer.from(msg(7))), null);
  });

  test("mbox, Maildir, a directory of .eml and one .eml; original dates; idempotent", async () => {
    const dir = tempDir("relaytrap-import-");
    const dataDir = join(dir, "data");
    try {
      writeFileSync(
        join(dir, "old.mbox"),
        mbox([
          msg(1, { received: "Sun, 1 Dec 2013 12:17:21 +0000" }),
          msg(2, { received: "Mon, 2 Dec 2013 08:00:00 +0000" }),
          msg(3, { date: "Wed, 15 Jan 2014 10:00:00 +0000", subject: "Cheap pills" }),
        ]),
      );
      mkdirSync(join(dir, "Maildir", "cur"), { recursive: true });
      mkdirSync(join(dir, "Maildir", "new"), { recursive: true });
      mkdirSync(join(dir, "Maildir", "tmp"), { recursive: true });
      writeFileSync(join(dir, "Maildir", "cur", "1.host:2,S"), msg(4, { received: "Tue, 3 Jun 2014 10:00:00 +0000" }));
      writeFileSync(join(dir, "Maildir", "new", "2.host"), msg(5, { received: "Tue, 3 Jun 2014 11:00:00 +0000" }));
      mkdirSync(join(dir, "emls"));
      writeFileSync(join(dir, "emls", "a.eml"), msg(6, { received: "Fri, 1 May 2015 10:00:00 +0000" }));
      writeFileSync(join(dir, "emls", "b.eml"), msg(1, { received: "Sun, 1 Dec 2013 12:17:21 +0000" }).replace(/\r\n/g, "\n")); // the same bytes as in the mbox
      writeFileSync(join(dir, "one.eml"), msg(8, { received: "Sat, 2 Jan 2016 10:00:00 +0000" }));

      const r1 = await runCli(["import", join(dir, "old.mbox"), "--data-dir", dataDir]);
      assert.equal(r1.code, 0, r1.stderr);
      assert.match(r1.stdout, /imported 3 of 3 messages \(2 relay tests, 1 spam, 0 other\), 0 duplicates skipped, 0 failed/);
      const again = await runCli(["import", join(dir, "old.mbox"), "--data-dir", dataDir]);
      assert.match(again.stdout, /imported 0 of 3 messages .* 3 duplicates skipped/);
      assert.match((await runCli(["import", join(dir, "Maildir"), "--data-dir", dataDir])).stdout, /imported 2 of 2/);
      assert.match((await runCli(["import", join(dir, "emls"), "--data-dir", dataDir])).stdout, /imported 1 of 2 .* 1 duplicates skipped/);
      assert.match((await runCli(["import", join(dir, "one.eml"), "--data-dir", dataDir])).stdout, /imported 1 of 1/);
      assert.equal((await runCli(["import", join(dir, "missing"), "--data-dir", dataDir])).code, 2);
      assert.equal((await runCli(["import", "--data-dir", dataDir])).code, 2);

      const reader = openSqliteReader(dataDir);
      try {
        const rows = reader.listMessages({ limit: 100 });
        assert.equal(rows.length, 7);
        const first = rows.find((m) => m.subject?.endsWith("#1") && m.srcIp === "192.0.2.1");
        assert.ok(first);
        assert.equal(first.receivedAt, Date.UTC(2013, 11, 1, 12, 17, 21));
        assert.equal(first.mailFrom, "tester@dropbox.example");
        assert.deepEqual(first.rcptTo, ["dropbox@dropbox.example"]);
        assert.equal(first.kind, "relay-test");
        // mbox quoting undone: the stored body has the original "From " line.
        assert.match(reader.getRaw(first.id)!.toString(), /\nFrom the desk of nobody/);
        const pills = rows.find((m) => m.subject === "Cheap pills")!;
        assert.equal(pills.receivedAt, Date.UTC(2014, 0, 15, 10));
      } finally {
        reader.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("relaytrap CLI: web", () => {
  test("hash-password reads stdin and prints a scrypt hash", async () => {
    const child = spawn(process.execPath, [CLI, "hash-password"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stdin.end("open sesame\n");
    const code = await new Promise<number | null>((r) => child.once("close", r));
    assert.equal(code, 0);
    assert.match(out, /^scrypt\$16384\$8\$1\$\S+\n$/);
    assert.equal(await verifyPassword("open sesame", out.trim()), true);
  });

  test("run refuses a non-loopback web listener without users (exit 2, names web.users)", async () => {
    const dir = tempDir();
    try {
      const r = await runCli(["run", "--data-dir", dir, "--smtp-listen", "127.0.0.1:0", "--web-listen", "0.0.0.0:0"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^relaytrap: config: web\.users: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("run prints the web listener; demo serves history and a live stream from documentation ranges", async () => {
    const dir = tempDir();
    const p = startCli(["demo", "--data-dir", dir, "--web-listen", "127.0.0.1:0", "--days", "60", "--interval-ms", "100"]);
    try {
      const ls = await p.listening;
      const web = ls.find((l) => l.kind === "web");
      assert.ok(web);
      const base = `http://127.0.0.1:${web.port}`;
      const month = (await (await fetch(`${base}/api/v1/stats/attempts?bucket=month`)).json()) as { series: unknown[] };
      assert.ok(month.series.length >= 2, "back-dated history");
      // Live messages arrive over loopback SMTP, attributed to RFC 5737 sources.
      let live: Array<{ srcIp: string; receivedAt: number }> = [];
      for (let i = 0; i < 100 && live.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const list = (await (await fetch(`${base}/api/v1/messages?since=${Date.now() - 60_000}`)).json()) as { items: typeof live };
        live = list.items;
      }
      assert.ok(live.length > 0, "live demo messages");
      for (const m of live) assert.match(m.srcIp, /^(192\.0\.2|198\.51\.100|203\.0\.113)\./);
    } finally {
      p.child.kill("SIGTERM");
      await p.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
