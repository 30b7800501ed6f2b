// Fingerprint resistance: the checks honeypot detectors (potsnitch, nuclei's honeypot templates, Shodan's honeyscore)
// run against SMTP honeypots, for every persona. A detector compares banner timing, VRFY/AUTH leniency, EHLO keywords,
// default host names, reply variety, the reaction to HTTP on the SMTP port, unknown-command texts and error limits.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { renderReply, PERSONAS, type PersonaName } from "../../src/smtp/personas.js";
import { LIMIT_DEFAULTS } from "../../src/smtp/limits.js";
import { startSensor, type TestSensor } from "../helpers/sensor.js";
import { SmtpClient } from "../helpers/smtp-client.js";

const FIXTURES = fileURLToPath(new URL("../../../test/fixtures/postfix/", import.meta.url));
const PERSONA_NAMES = Object.keys(PERSONAS) as PersonaName[];
/** A banner slower than this on loopback would be a deliberate delay a scanner can time. */
const MAX_BANNER_MS = 50;
const BANNER_SAMPLES = 15;

interface Recording {
  sessions: Array<{ name: string; steps: Array<{ send?: string; reply?: unknown }> }>;
}

/** The EHLO reply the real Postfix gave in a recording, with its host name replaced. */
function recordedEhlo(file: string, host: string): string[] {
  const rec = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as Recording;
  for (const s of rec.sessions)
    for (const st of s.steps)
      if (st.send === "EHLO client.example.com" && Array.isArray(st.reply))
        return (st.reply as string[]).map((l) => l.replace("mail.example.org", host));
  throw new Error(`no EHLO in ${file}`);
}

/** One session: banner, then each line's reply; [] for a reply means the server closed. */
async function session(port: number, lines: string[]): Promise<{ banner: string[]; replies: string[][]; closed: boolean }> {
  const c = await SmtpClient.connect(port);
  try {
    const banner = await c.reply();
    const replies: string[][] = [];
    for (const l of lines) {
      if (c.closed) break;
      replies.push(await c.send(l));
    }
    // A close that follows the last reply arrives within a moment.
    await Promise.race([c.closedPromise, new Promise((r) => setTimeout(r, 200))]);
    return { banner, replies, closed: c.closed };
  } finally {
    c.destroy();
  }
}

function bannerMs(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = connect({ host: "127.0.0.1", port });
    s.once("error", reject);
    s.once("data", () => {
      resolve(performance.now() - t0);
      s.destroy();
    });
  });
}

for (const persona of PERSONA_NAMES) {
  describe(`fingerprint resistance: ${persona}`, () => {
    let t: TestSensor;
    let host: string;
    const p = PERSONAS[persona];
    const vars = () => ({ host, ip: "127.0.0.1" });
    before(async () => {
      // No hostname configured: the default is the machine's own name, as a real server's would be.
      t = await startSensor({ persona, hostname: undefined });
      host = t.sensor.hostname;
    });
    after(() => t.close());

    it("defaults to the machine's host name and never says relaytrap", async () => {
      assert.equal(host, /^[A-Za-z0-9.-]+$/.test(osHostname()) ? osHostname() : "localhost");
      const s = await session(t.port, ["EHLO probe.example", "HELO probe.example", "HELP", "XYZZY", "VRFY root", "NOOP", "QUIT"]);
      const all = [s.banner, ...s.replies].flat().join("\n");
      assert.doesNotMatch(all, /relaytrap|honeypot|honey/i);
      assert.ok(s.banner[0]!.includes(host), `banner ${s.banner[0]} does not carry the host name`);
    });

    it(`greets promptly (banner < ${MAX_BANNER_MS} ms on loopback, no artificial delay)`, async () => {
      const times: number[] = [];
      for (let i = 0; i < BANNER_SAMPLES; i++) times.push(await bannerMs(t.port));
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      assert.ok(median < MAX_BANNER_MS, `median banner delay ${median.toFixed(1)} ms (${times.map((x) => x.toFixed(1)).join(", ")})`);
    });

    it("does not accept VRFY for everyone", async () => {
      const unknown = `nosuchuser${Math.floor(Math.random() * 1e6)}`;
      const s = await session(t.port, ["EHLO probe.example", `VRFY ${unknown}`, "VRFY root"]);
      const r = s.replies[1]!;
      assert.doesNotMatch(r[0]!, /^250/, `VRFY ${unknown} -> ${r[0]}`);
      if (p.localUsers.length && p.replies.vrfyUnknown !== p.replies.vrfyOk) {
        assert.deepEqual(r, renderReply(p, "vrfyUnknown", { ...vars(), arg: unknown, addr: unknown }));
        assert.match(r[0]!, /^550 /);
        assert.notDeepEqual(s.replies[2], r, "a known and an unknown user get the same answer");
      } else {
        // sendmail and exim answer 252 "cannot verify" to everyone, as the real servers do.
        assert.match(r[0]!, /^252 /);
      }
    });

    it("does not accept garbage AUTH (AUTH not offered, the persona's refusal)", async () => {
      const s = await session(t.port, ["EHLO probe.example", "AUTH PLAIN AHRlc3QAdGVzdA==", "AUTH LOGIN", "AUTH garbage", "AUTH"]);
      for (const r of s.replies.slice(1)) assert.doesNotMatch(r[0] ?? "", /^(235|334)/, `AUTH without SASL -> ${r[0]}`);
      assert.deepEqual(s.replies[1], renderReply(p, "authDisabled", vars()));
      assert.ok(!s.replies[0]!.some((l) => /AUTH/.test(l)), "AUTH advertised although disabled");
    });

    it("with AUTH enabled, rejects garbage and wrong credentials", async () => {
      const a = await startSensor({ persona, hostname: undefined, auth: { enabled: true } });
      try {
        const s = await session(a.port, ["EHLO probe.example", "AUTH PLAIN !!!notbase64", "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", "AUTH LOGIN", "&&&", "AUTH NONSENSE"]);
        for (const r of s.replies.slice(1)) assert.doesNotMatch(r[0] ?? "", /^235/, `garbage AUTH accepted: ${r[0]}`);
        assert.deepEqual(s.replies[2], renderReply(p, "authFailed", vars()));
        assert.match(s.replies[3]![0]!, /^334 /);
        if (persona === "postfix") assert.deepEqual(s.replies[0], recordedEhlo("postfix-3.7-sasl.json", a.sensor.hostname));
      } finally {
        await a.close();
      }
    });

    it("advertises exactly the claimed software's EHLO keywords", async () => {
      const s = await session(t.port, ["EHLO probe.example"]);
      const ehlo = s.replies[0]!;
      if (persona === "postfix") {
        assert.deepEqual(ehlo, recordedEhlo("postfix-3.7.json", host));
      } else {
        const keywords = ehlo.slice(1).map((l) => l.slice(4).split(" ")[0]!);
        const expected = p.ehloKeywords.map((k) => k.split(" ")[0]!).filter((k) => k !== "AUTH");
        assert.deepEqual(keywords, expected);
      }
      assert.equal(new Set(ehlo).size, ehlo.length, "a keyword twice");
      const size = ehlo.find((l) => /^250[- ]SIZE /.test(l));
      assert.equal(size?.slice(9), String(LIMIT_DEFAULTS.maxMessageBytes));
      // Every line but the last has a hyphen, the last a space (RFC 5321 multi-line replies).
      ehlo.forEach((l, i) => assert.equal(l[3], i === ehlo.length - 1 ? " " : "-", l));
    });

    it("gives different replies to different commands (not one answer to everything)", async () => {
      const s = await session(t.port, [
        "HELO probe.example",
        "EHLO probe.example",
        "DATA",
        "RCPT TO:<a@yahoo.com>",
        "MAIL FROM:<a@b.example>",
        "RCPT TO:<a@yahoo.com>",
        "NOOP",
        "RSET",
        "XYZZY",
        "QUIT",
      ]);
      const distinct = new Set(s.replies.map((r) => r.join("\n")));
      assert.ok(distinct.size >= 7, `only ${distinct.size} distinct replies to 10 commands: ${[...distinct].join(" | ")}`);
      assert.ok(s.closed, "QUIT did not close");
    });

    it("reacts to HTTP on the SMTP port as the real server does", async () => {
      const s = await session(t.port, ["GET / HTTP/1.1", "Host: 127.0.0.1", ""]);
      if (p.forbiddenVerbs.includes("GET")) {
        // Postfix: smtpd_forbidden_commands -> 221 2.7.0 and the connection closed.
        assert.deepEqual(s.replies[0], renderReply(p, "forbidden", vars()));
        assert.ok(s.closed, "still open after an HTTP request");
        assert.equal(s.replies.filter((r) => r.length > 0).length, 1);
      } else {
        // sendmail and exim have no HTTP check: an unknown command (sendmail quotes the whole line).
        assert.deepEqual(s.replies[0], renderReply(p, "unknown", { ...vars(), arg: "GET / HTTP/1.1" }));
      }
      for (const r of s.replies) for (const l of r) assert.match(l, /^\d{3}[ -]/, "not an SMTP reply (answered in HTTP?)");
    });

    it("answers unknown commands with the persona's text", async () => {
      const s = await session(t.port, ["EHLO probe.example", "XYZZY plugh", "HEAD / HTTP/1.0"]);
      assert.deepEqual(s.replies[1], renderReply(p, "unknown", { ...vars(), arg: "XYZZY plugh" }));
      assert.deepEqual(s.replies[2], renderReply(p, "unknown", { ...vars(), arg: "HEAD / HTTP/1.0" }));
    });

    it("has the real server's error cutoff: too many bad commands end the session", async () => {
      const n = LIMIT_DEFAULTS.hardErrorLimit + 2;
      const s = await session(t.port, Array.from({ length: n }, () => "XYZZY"));
      assert.ok(s.closed, `still open after ${n} bad commands`);
      const answered = s.replies.filter((r) => r.length > 0);
      if (p.maxUnknownCommands > 0) {
        // Exim: smtp_max_unknown_commands (3) drops the client at the next unknown command.
        assert.deepEqual(answered.at(-1), renderReply(p, "tooManyUnknown", vars()));
        assert.equal(answered.length, p.maxUnknownCommands + 1);
      } else {
        assert.deepEqual(answered.at(-1), renderReply(p, "tooManyErrors", vars()));
        assert.ok(answered.length <= LIMIT_DEFAULTS.hardErrorLimit + 1, `cut off only after ${answered.length} commands`);
      }
    });
  });
}
