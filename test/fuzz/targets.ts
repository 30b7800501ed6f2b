// Fuzz targets (fast-check) shared by the short in-test run (test/e2e/fuzz.test.ts) and the long-running mode
// (`npm run fuzz`, scripts/fuzz.mjs). Each target is a property: no throw, no hang (every step has a time bound), and
// where there is a reference (the same stream unchunked), the same result.
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { analyze } from "../../src/analysis/index.js";
import { parseMessage } from "../../src/analysis/parse.js";
import { RELAY_TESTS, HARD_NEGATIVES } from "../../src/analysis/fixtures.js";
import { createHeadReader, parseAuthority, parseRequestTarget } from "../../src/proxy/http.js";
import { sniffProtocol } from "../../src/proxy/sniff.js";
import { createSocks4Machine, createSocks5Machine } from "../../src/proxy/socks.js";
import { DataReader } from "../../src/smtp/data-reader.js";
import { classifyIp } from "../../src/net/ip-scope.js";
import { createOutbound, OutboundRefused } from "../../src/net/outbound.js";
import { LIMIT_DEFAULTS } from "../../src/smtp/limits.js";
import { ipLikeText, nonGlobalSample } from "../helpers/ip-forms.js";

export interface FuzzContext {
  /** A running sensor's SMTP port and web port (loopback). */
  smtpPort: number;
  webPort: number;
  /** The most bytes one live SMTP session holds for its client (SmtpTrap.maxBufferedBytes); the sensor runs with the
   * default limits.maxPendingInputBytes / maxPendingOutputBytes. */
  smtpBufferedBytes: () => number;
}

export interface FuzzTarget {
  name: string;
  /** Runs the property `numRuns` times from `seed`; throws (with fast-check's counterexample) on a failure. */
  run(ctx: FuzzContext, numRuns: number, seed: number): Promise<void>;
}

/** A conversation with no reply for this long is a hang. */
const QUIET_MS = 2000;
/** analyze() of one message must finish within this (a pathological regex would blow it). */
const ANALYZE_MS = 2000;

/** Sends `chunks` one write at a time; everything the server says until it closes (or goes quiet: a hang). */
async function converse(port: number, chunks: Buffer[]): Promise<{ out: string; hung: boolean }> {
  const sock: Socket = connect({ host: "127.0.0.1", port });
  let out = "";
  let hung = false;
  sock.setEncoding("latin1");
  sock.on("data", (d: string) => (out += d));
  sock.on("error", () => {});
  await new Promise<void>((r, j) => {
    sock.once("connect", () => r());
    sock.once("error", j);
  });
  for (const c of chunks) {
    if (sock.destroyed) break;
    await new Promise<void>((r) => sock.write(c, () => r()));
  }
  await new Promise<void>((r) => {
    sock.once("close", () => r());
    sock.setTimeout(QUIET_MS, () => {
      hung = true;
      sock.destroy();
      r();
    });
  });
  return { out, hung };
}

function chunk(buf: Buffer, cuts: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let pos = 0, i = 0; pos < buf.length; i++) {
    const n = cuts[i % cuts.length]!;
    pieces.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return pieces;
}

const SMTP_LINES = [
  "EHLO a.example", "HELO b", "MAIL FROM:<x@y.example>", "MAIL FROM:<x@y.example> SIZE=100 BODY=8BITMIME", "RCPT TO:<r@yahoo.com>",
  "RCPT TO:<root>", "RCPT TO:<>", "RSET", "NOOP", "VRFY root", "VRFY nobody-here", "EXPN list", "HELP", "DATA",
  "Subject: s\r\n\r\nbody\r\n..dot\r\n.", "BDAT 3\r\nabc", "BDAT 0 LAST", "BDAT x", "FOO", "", " ", "mail from:<broken",
  "ETRN x.example", "AUTH LOGIN", "AUTH PLAIN AGEAYg==", "=", "*", "STARTTLS x", "GET / HTTP/1.0", "XCLIENT ADDR=1.2.3.4",
  "\x00NUL", "caf\xe9", "QUIT x",
];

/** A random SMTP line: one of the interesting ones or random printable/8-bit text. */
const smtpLine = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SMTP_LINES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }).map((s) => s.replace(/[\r\n]/g, " ")) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString("latin1").replace(/[\r\n]/g, "")) },
);

const smtpChunking: FuzzTarget = {
  name: "smtp: any chunking of a command stream gives the same replies",
  async run(ctx, numRuns, seed) {
    await fc.assert(
      fc.asyncProperty(fc.array(smtpLine, { minLength: 1, maxLength: 15 }), fc.array(fc.integer({ min: 1, max: 13 }), { minLength: 1, maxLength: 8 }), async (lines, cuts) => {
        // A trailing "." ends a DATA the stream may have opened (else it is Postfix's bogus-command close).
        const stream = Buffer.from(lines.map((l) => l + "\r\n").join("") + ".\r\nQUIT\r\n", "latin1");
        const whole = await converse(ctx.smtpPort, [stream]);
        const chunked = await converse(ctx.smtpPort, chunk(stream, cuts));
        // Going quiet is legitimate (e.g. waiting for the rest of a BDAT chunk), but it must not depend on chunking.
        assert.equal(chunked.hung, whole.hung, "quiet with one chunking, not with the other");
        const strip = (s: string) => s.replace(/queued as [0-9A-F]+/g, "queued as Q");
        assert.equal(strip(chunked.out), strip(whole.out));
        for (const l of whole.out.split("\r\n").filter(Boolean)) assert.match(l, /^\d{3}[ -]/);
      }),
      { numRuns, seed, includeErrorInReport: true },
    );
  },
};

const smtpGarbage: FuzzTarget = {
  name: "smtp: binary garbage gets replies or a close",
  async run(ctx, numRuns, seed) {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 4000 }), { minLength: 1, maxLength: 4 }), async (chunks) => {
        const { out, hung } = await converse(ctx.smtpPort, [...chunks.map((c) => Buffer.from(c)), Buffer.from("\r\nQUIT\r\n")]);
        // Quiet is allowed (garbage may have opened a BDAT chunk); every line said is an SMTP reply.
        void hung;
        for (const l of out.split("\r\n").filter(Boolean)) assert.match(l, /^\d{3}[ -]/);
      }),
      { numRuns, seed, includeErrorInReport: true },
    );
    // Still alive and greeting promptly after all that.
    const { out } = await converse(ctx.smtpPort, [Buffer.from("QUIT\r\n")]);
    assert.match(out, /^220 [^\r]*\r\n221 /);
  },
};

/** What one session may hold: a read's worth past the input limit, and one reply past the output limit. */
const SESSION_BUFFER_BOUND = LIMIT_DEFAULTS.maxPendingInputBytes + 64 * 1024 + LIMIT_DEFAULTS.maxPendingOutputBytes + 8 * 1024;
/** How long a non-reading client's flood is watched. */
const FLOOD_WATCH_MS = 300;

/** Commands a session answers without counting an error, however often: EHLO, then maybe a transaction's envelope. */
const replyingUnit = fc
  .tuple(
    fc.constantFrom("EHLO", "ehlo", "HELO"),
    fc.stringMatching(/^[a-z0-9.-]{1,40}$/),
    fc.option(fc.tuple(fc.constantFrom("MAIL FROM:<x@y.example>", "MAIL FROM:<>", "MAIL FROM:<a@b.example> SIZE=100"), fc.array(fc.constantFrom("RCPT TO:<r@yahoo.com>", "RCPT TO:<postmaster@example.net>"), { maxLength: 5 }))),
  )
  .map(([verb, arg, txn]) => [`${verb} ${arg}`, ...(txn ? [txn[0], ...txn[1]] : [])]);

const smtpReplyPath: FuzzTarget = {
  name: "smtp: a client that pipelines and never reads leaves a bounded buffer",
  async run(ctx, numRuns, seed) {
    await fc.assert(
      fc.asyncProperty(fc.array(smtpLine, { maxLength: 3 }), replyingUnit, fc.integer({ min: 64 * 1024, max: 1024 * 1024 }), async (prefix, unit, bytes) => {
        // A few lines of anything, then a unit that keeps being answered (errors would end the session early) repeated.
        const head = Buffer.from(prefix.map((l) => l + "\r\n").join(""), "latin1");
        const body = Buffer.from(unit.map((l) => l + "\r\n").join(""), "latin1");
        const stream = Buffer.alloc(head.length + bytes);
        head.copy(stream);
        for (let pos = head.length; pos < stream.length; pos += body.length) body.copy(stream, pos);
        // No data listener: the socket reads nothing once its small buffer is full.
        const sock = connect({ host: "127.0.0.1", port: ctx.smtpPort });
        sock.on("error", () => {});
        let max = 0;
        try {
          await new Promise<void>((r, j) => sock.once("connect", () => r()).once("error", j));
          sock.write(stream);
          for (let t = 0; t < FLOOD_WATCH_MS; t += 30) {
            await new Promise((r) => setTimeout(r, 30));
            max = Math.max(max, ctx.smtpBufferedBytes());
          }
        } finally {
          sock.destroy();
        }
        assert.ok(max <= SESSION_BUFFER_BOUND, `a session held ${max} bytes (bound ${SESSION_BUFFER_BOUND})`);
      }),
      { numRuns: Math.max(3, Math.ceil(numRuns / 3)), seed, includeErrorInReport: true },
    );
    const { out } = await converse(ctx.smtpPort, [Buffer.from("QUIT\r\n")]);
    assert.match(out, /^220 [^\r]*\r\n221 /);
  },
};

const dataDecoder: FuzzTarget = {
  name: "DATA decoder: stuffed message + any chunking decodes to the exact bytes",
  async run(_ctx, numRuns, seed) {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1").replace(/\n/g, "")), { maxLength: 30 }),
        fc.constantFrom("\r\n", "\n"),
        fc.uint8Array({ maxLength: 50 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 5000 }),
        (lines, eol, after, cuts, max) => {
          const original = Buffer.from(lines.map((l) => l + eol).join(""), "latin1");
          const stuffed = Buffer.from(lines.map((l) => (l.startsWith(".") ? "." + l : l) + eol).join("") + "." + eol, "latin1");
          const wire = Buffer.concat([stuffed, Buffer.from(after)]);
          const r = new DataReader(max);
          let done = null as { rest: Buffer } | null;
          for (const c of chunk(wire, cuts)) {
            const res = r.push(c);
            if (res.done) {
              done = { rest: res.rest };
              break;
            }
          }
          assert.ok(done, "end of data not found");
          assert.equal(r.size, original.length);
          if (original.length <= max) assert.deepEqual(r.body(), original);
          else assert.equal(r.tooBig, true);
        },
      ),
      { numRuns: numRuns * 20, seed, includeErrorInReport: true },
    );
    // Random bytes never throw, and never keep more than the limit.
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), fc.integer({ min: 1, max: 1000 }), (chunks, max) => {
        const r = new DataReader(max);
        for (const c of chunks) if (r.push(Buffer.from(c)).done) break;
        assert.ok(r.tooBig || r.body().length <= max);
      }),
      { numRuns: numRuns * 20, seed, includeErrorInReport: true },
    );
  },
};

const SEED_MESSAGES: Buffer[] = [...RELAY_TESTS, ...HARD_NEGATIVES].map((f) => f.raw);

/** A seed message mutated: bytes flipped, slices duplicated, deleted or inserted. */
const mutatedMessage = fc
  .tuple(
    fc.nat(SEED_MESSAGES.length - 1),
    fc.array(
      fc.tuple(fc.constantFrom("flip", "dup", "del", "ins"), fc.nat(), fc.nat(400), fc.uint8Array({ maxLength: 40 })),
      { maxLength: 8 },
    ),
  )
  .map(([i, muts]) => {
    let b = Buffer.from(SEED_MESSAGES[i]!);
    for (const [op, at, len, bytes] of muts) {
      const p = b.length ? at % b.length : 0;
      if (op === "flip" && b.length) b[p] = b[p]! ^ (1 << (len % 8));
      else if (op === "dup") b = Buffer.concat([b.subarray(0, p + len), b.subarray(p, p + len), b.subarray(p + len)]);
      else if (op === "del") b = Buffer.concat([b.subarray(0, p), b.subarray(p + len)]);
      else b = Buffer.concat([b.subarray(0, p), Buffer.from(bytes), b.subarray(p)]);
    }
    return b;
  });

const analysis: FuzzTarget = {
  name: "analysis: random and mutated messages never throw, finish in bounded time",
  async run(_ctx, numRuns, seed) {
    const message = fc.oneof(mutatedMessage, fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)));
    const rcpt = fc.array(fc.oneof(fc.emailAddress(), fc.string({ maxLength: 60 })), { maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(message, rcpt, fc.option(fc.string({ maxLength: 60 })), async (raw, rcptTo, mailFrom) => {
        const t0 = performance.now();
        const parsed = await parseMessage(raw);
        const v = analyze(parsed, { clientIp: "203.0.113.9", helo: "x", mailFrom, rcptTo }, ["198.51.100.23"]);
        const ms = performance.now() - t0;
        assert.ok(["relay-test", "spam", "other"].includes(v.kind));
        assert.ok(ms < ANALYZE_MS, `analyze took ${ms.toFixed(0)} ms on ${raw.length} bytes`);
      }),
      { numRuns, seed, includeErrorInReport: true },
    );
  },
};

const HEAD_LIMITS = { maxRequestLineBytes: 8192, maxHeaderBytes: 65_536, maxHeaders: 100 };

const proxyParsers: FuzzTarget = {
  name: "proxy: sniff, SOCKS4/5 machines and the HTTP head reader take anything, chunking changes nothing",
  async run(_ctx, numRuns, seed) {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      // Plausible starts: SOCKS versions, HTTP methods.
      fc.tuple(fc.constantFrom([4, 1], [5, 1, 0], [5, 2, 0, 2], [4, 2], [5, 0]), fc.uint8Array({ maxLength: 300 })).map(([h, t]) => Uint8Array.from([...h, ...t])),
      fc.tuple(fc.constantFrom("CONNECT ", "GET http://", "POST ", "GET /"), fc.string({ maxLength: 300 })).map(([m, s]) => Uint8Array.from(Buffer.from(m + s + "\r\n\r\n", "latin1"))),
    );
    const cuts = fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(bytes, cuts, (b, cs) => {
        const buf = Buffer.from(b);
        sniffProtocol(buf);
        for (const make of [createSocks4Machine, createSocks5Machine]) {
          const whole = make();
          const a = whole.push(buf);
          const chunked = make();
          const c = chunk(buf, cs).flatMap((p) => chunked.push(p));
          // Replies may differ in granularity only when a machine is done; the kinds of actions must agree.
          assert.deepEqual(c.map((x) => x.type), a.map((x) => x.type));
          if (whole.done) assert.deepEqual(whole.push(Buffer.from("x")), []);
        }
        const h1 = createHeadReader(HEAD_LIMITS).push(buf);
        const reader = createHeadReader(HEAD_LIMITS);
        let h2 = reader.push(Buffer.alloc(0));
        for (const p of chunk(buf, cs)) if ((h2 = reader.push(p)).status !== "more") break;
        assert.equal(h2.status, h1.status);
        if (h1.status === "ok" && h2.status === "ok") {
          assert.deepEqual(h2.head, h1.head);
          parseRequestTarget(h1.head.method, h1.head.target);
        }
        const text = buf.toString("latin1");
        parseAuthority(text, 80);
        parseRequestTarget("CONNECT", text);
        parseRequestTarget("GET", text);
      }),
      { numRuns: numRuns * 20, seed, includeErrorInReport: true },
    );
  },
};

const API_PATHS = ["/api/v1/messages", "/api/v1/proxy/requests", "/api/v1/dropboxes", "/api/v1/stats/attempts", "/api/v1/summary", "/api/v1/messages/1", "/api/v1/sources/203.0.113.9"];
const API_KEYS = ["kind", "src_ip", "channel", "dropbox", "q", "since", "until", "limit", "before", "bucket", "x", ""];

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", timeout: QUIET_MS }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer to ${path}: a hang`)));
    req.on("error", reject);
    req.end();
  });
}

const webQueries: FuzzTarget = {
  name: "web API: random query parameters get 200 or 400, never 500",
  async run(ctx, numRuns, seed) {
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom("relay-test", "spam", "other", "direct", "socks5", "day", "week", "month", "7d", "24h", "2026-01-01", "0", "-1", "1e309", "NaN", "::1", "203.0.113.9", "%00", "'", "\"", "*", "AND", "a OR b", "NEAR(", "x*"),
      fc.integer().map(String),
    );
    const query = fc.array(fc.tuple(fc.constantFrom(...API_KEYS), value), { maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...API_PATHS), query, async (path, params) => {
        const qs = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
        const status = await get(ctx.webPort, `${path}${qs ? "?" + qs : ""}`);
        assert.ok(status === 200 || status === 400 || (status === 404 && /\/\d+$|sources/.test(path)), `${path}?${qs} -> ${status}`);
      }),
      { numRuns: numRuns * 4, seed, includeErrorInReport: true },
    );
  },
};

const addressClassifier: FuzzTarget = {
  name: "outbound: the address classifier takes any text, refuses every form of every non-global address",
  async run(_ctx, numRuns, seed) {
    // Any text: no throw; a global verdict only for a canonical IP that classifies the same again.
    fc.assert(
      fc.property(ipLikeText, (text) => {
        const s = classifyIp(text);
        if (s.canonical === null) assert.notEqual(s.reason, null);
        else assert.deepEqual(classifyIp(s.canonical), s, `${text}: its canonical form ${s.canonical} classifies differently`);
      }),
      { numRuns: numRuns * 40, seed, includeErrorInReport: true },
    );
    fc.assert(
      fc.property(nonGlobalSample, (sample) => {
        for (const f of sample.forms) assert.notEqual(classifyIp(f).reason, null, `${sample.label}: ${JSON.stringify(f)} passed as global`);
      }),
      { numRuns: numRuns * 10, seed, includeErrorInReport: true },
    );
    // The same forms as address literals and as DNS answers: routes() approves none of them (nothing is dialled).
    const answer = (text: string) => async () => [text];
    await fc.assert(
      fc.asyncProperty(nonGlobalSample, async (sample) => {
        for (const f of sample.forms) {
          const ob = createOutbound({
            smarthost: null,
            allowPrivateMx: false,
            refuseIps: [],
            timeoutMs: 1000,
            resolver: { resolveMx: async (d) => [{ exchange: `mx.${d}`, priority: 0 }], resolve4: answer(f), resolve6: answer(f), lookup: answer(f) },
          });
          for (const d of [`[${f}]`, `[IPv6:${f}]`, f, "evil.example"]) {
            await assert.rejects(ob.routes(d), OutboundRefused, `${sample.label}: ${d} with answer ${JSON.stringify(f)} approved`);
          }
        }
      }),
      { numRuns, seed, includeErrorInReport: true },
    );
  },
};

export const TARGETS: FuzzTarget[] = [smtpChunking, smtpGarbage, smtpReplyPath, dataDecoder, analysis, proxyParsers, webQueries, addressClassifier];
