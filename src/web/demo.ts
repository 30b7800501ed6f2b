// `relaytrap demo`: a sensor with months of back-dated history and a simulated live stream of relay tests, spam runs
// and scanners, all from documentation address ranges (RFC 5737), sent over loopback SMTP to the sensor itself.
import { createServer, connect, type Server, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import type { Sensor } from "../sensor.js";
import type { SessionRecord, StoreWriter } from "../store/types.js";
import { createIngest, IN_THREAD } from "../ingest.js";

/** The address relay tests in the demo try to reach the sensor at (its "public" address, RFC 5737). */
export const DEMO_SENSOR_IP = "198.51.100.25";
const RANGES = ["192.0.2.", "198.51.100.", "203.0.113."];
const DROPBOXES = ["checker@dropbox.example", "relaytest1977@mail.example.net", "ok.box@inbox.example.org", "x7h2@dropbox.example"];
const VICTIMS = ["info@shop.example", "anna@example.com", "bob@example.net", "sales@example.org", "ceo@corp.example"];

/** Deterministic PRNG (mulberry32) so a seeded history looks the same every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const sourceIp = (r: () => number) => pick(r, RANGES) + (1 + Math.floor(r() * 253)) + "";

interface Scenario {
  kind: "relay-test" | "spam" | "scan";
  helo: string;
  mailFrom: string;
  rcptTo: string[];
  raw: string;
}

function date(t: number): string {
  return new Date(t).toUTCString().replace("GMT", "+0000");
}

export function scenario(r: () => number, srcIp: string, t: number): Scenario {
  const x = r();
  const helo = pick(r, ["localhost", "mail.example.com", `[${srcIp}]`, "User", "WIN-" + Math.floor(r() * 1e6)]);
  if (x < 0.45) {
    const dropbox = pick(r, DROPBOXES);
    const form = Math.floor(r() * 4);
    const subject = [
      `Relay test ${DEMO_SENSOR_IP}`,
      `${DEMO_SENSOR_IP}:25 open relay check`,
      `test ${Buffer.from(DEMO_SENSOR_IP).toString("base64")}`,
      `Open Relay ${DEMO_SENSOR_IP}`,
    ][form]!;
    const rcpt = form === 2 ? `${dropbox.replace("@", "%")}@[${DEMO_SENSOR_IP}]` : dropbox;
    return {
      kind: "relay-test",
      helo,
      mailFrom: dropbox,
      rcptTo: [rcpt],
      raw: [`From: ${dropbox}`, `To: ${dropbox}`, `Subject: ${subject}`, `Date: ${date(t)}`, `Message-ID: <${randomBytes(6).toString("hex")}@${srcIp}>`, "", `${DEMO_SENSOR_IP}`, ""].join("\r\n"),
    };
  }
  if (x < 0.8) {
    const n = 1 + Math.floor(r() * 4);
    const rcpts = Array.from({ length: n }, () => pick(r, VICTIMS));
    const product = pick(r, ["replica watches", "cheap meds", "crypto profits", "loan approval", "SEO services"]);
    const boundary = "b" + randomBytes(4).toString("hex");
    return {
      kind: "spam",
      helo,
      mailFrom: `promo${Math.floor(r() * 999)}@bulk.example`,
      rcptTo: [...new Set(rcpts)],
      raw: [
        `From: "Best Deals" <promo@bulk.example>`,
        `To: undisclosed-recipients:;`,
        `Subject: Great ${product} today only`,
        `Date: ${date(t)}`,
        "MIME-Version: 1.0",
        `Content-Type: multipart/alternative; boundary="${boundary}"`,
        "",
        `--${boundary}`,
        "Content-Type: text/plain; charset=utf-8",
        "",
        `Get ${product} now at an unbeatable price. Reply to unsubscribe.`,
        `--${boundary}`,
        "Content-Type: text/html; charset=utf-8",
        "",
        `<html><body><h2 style="color:#c00">Great ${product}</h2><p>Order <a href="http://shop.example/">here</a>.</p>` +
          `<img src="http://tracker.example/open.gif?id=${randomBytes(3).toString("hex")}"><script>document.title='x'</script></body></html>`,
        `--${boundary}--`,
        "",
      ].join("\r\n"),
    };
  }
  return { kind: "scan", helo, mailFrom: "", rcptTo: [], raw: "" };
}

function transcript(s: Scenario, srcIp: string): SessionRecord["transcript"] {
  const lines: SessionRecord["transcript"] = [{ dir: "s", line: "220 mail.example.org ESMTP Postfix (Debian/GNU)", t: 0 }];
  let t = 5;
  const add = (dir: "c" | "s", line: string) => lines.push({ dir, line, t: (t += 3 + (line.length % 40)) });
  add("c", `EHLO ${s.helo}`);
  add("s", "250-mail.example.org");
  if (s.kind !== "scan") {
    add("c", `MAIL FROM:<${s.mailFrom}>`);
    add("s", "250 2.1.0 Ok");
    for (const r of s.rcptTo) (add("c", `RCPT TO:<${r}>`), add("s", "250 2.1.5 Ok"));
    add("c", "DATA");
    add("s", "354 End data with <CR><LF>.<CR><LF>");
    add("s", "250 2.0.0 Ok: queued as " + randomBytes(5).toString("hex").toUpperCase());
  }
  add("c", "QUIT");
  add("s", "221 2.0.0 Bye");
  void srcIp;
  return lines;
}

/** Writes back-dated sessions and messages for the last `days` days (a growing trend, a weekly rhythm, bursts). */
export async function seedHistory(
  writer: StoreWriter,
  opts: { days: number; now?: number; seed?: number; perDay?: number; sensorNames?: string[] },
): Promise<{ sessions: number; messages: number }> {
  const r = rng(opts.seed ?? 2013);
  // Live mail's path without its live parts: history has no cutoff, no events, no delivery.
  const ingest = createIngest({ analysis: IN_THREAD, writer, sensorIps: [DEMO_SENSOR_IP], sensorNames: opts.sensorNames ?? [], log: () => {} });
  const now = opts.now ?? Date.now();
  const perDay = opts.perDay ?? 6;
  let sessions = 0;
  let messages = 0;
  const pending: Promise<unknown>[] = [];
  for (let d = opts.days; d >= 1; d--) {
    const dayStart = now - d * 86_400_000;
    const trend = 0.3 + 0.7 * (1 - d / opts.days);
    const weekly = new Date(dayStart).getUTCDay() % 6 === 0 ? 0.6 : 1;
    const burst = r() < 0.04 ? 5 : 1;
    const n = Math.round(perDay * trend * weekly * burst * (0.5 + r()));
    for (let i = 0; i < n; i++) {
      const t = dayStart + Math.floor(r() * 86_400_000);
      const ip = sourceIp(r);
      const s = scenario(r, ip, t);
      const id = "h" + randomBytes(6).toString("hex");
      const rec: SessionRecord = {
        id,
        protocol: "smtp",
        channel: "direct",
        startedAt: t,
        endedAt: t + 1500,
        srcIp: ip,
        srcPort: 1024 + Math.floor(r() * 60000),
        destIp: DEMO_SENSOR_IP,
        destPort: 25,
        target: null,
        helo: s.helo,
        rdns: null,
        tls: null,
        auth: [],
        transcript: transcript(s, ip),
        transcriptTruncated: false,
        commands: 0,
        messages: s.kind === "scan" ? 0 : 1,
        closeReason: "quit",
      };
      pending.push(writer.putSession(rec));
      sessions++;
      if (s.kind !== "scan") {
        pending.push(
          ingest({
            raw: Buffer.from(s.raw, "utf8"),
            sessionId: id,
            receivedAt: t + 900,
            srcIp: ip,
            srcPort: 0,
            destIp: DEMO_SENSOR_IP,
            destPort: 25,
            channel: "direct",
            helo: s.helo,
            mailFrom: s.mailFrom,
            rcptTo: s.rcptTo,
          }).then((out) => {
            if (!out.ok) throw new Error(`storing a demo message failed (${out.reason})`);
          }),
        );
        messages++;
      }
      if (pending.length >= 256) await Promise.all(pending.splice(0));
    }
  }
  await Promise.all(pending);
  return { sessions, messages };
}

// ---------- the live stream over loopback SMTP

/** A tiny SMTP client: one command at a time, reads whole replies. */
async function smtpConversation(port: number, s: Scenario): Promise<void> {
  const sock: Socket = connect({ host: "127.0.0.1", port });
  sock.setEncoding("latin1");
  let buf = "";
  let wake: (() => void) | null = null;
  let closed = false;
  sock.on("data", (d: string) => ((buf += d), wake?.()));
  sock.on("close", () => ((closed = true), wake?.()));
  sock.on("error", () => {});
  const reply = async (): Promise<string> => {
    for (;;) {
      const m = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buf);
      if (m) {
        const code = m[1]!;
        buf = buf.slice(m.index + m[0].length);
        return code;
      }
      if (closed) return "";
      await new Promise<void>((r) => (wake = r));
    }
  };
  const cmd = async (line: string) => {
    sock.write(line + "\r\n");
    return reply();
  };
  try {
    await reply();
    await cmd(`EHLO ${s.helo}`);
    if (s.kind !== "scan") {
      await cmd(`MAIL FROM:<${s.mailFrom}>`);
      for (const r of s.rcptTo) await cmd(`RCPT TO:<${r}>`);
      if ((await cmd("DATA")) === "354") {
        const body = s.raw.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
        await cmd(body + (body.endsWith("\r\n") ? "" : "\r\n") + ".");
      }
    }
    await cmd("QUIT");
  } finally {
    sock.destroy();
  }
}

export interface DemoStream {
  port: number;
  close(): Promise<void>;
}

/**
 * Starts a loopback listener whose connections the sensor's SMTP trap takes over as if they came from documentation
 * addresses (the same hand-off the proxy trap uses), and a timer that sends a scenario every intervalMs (jittered).
 */
export async function startDemoStream(sensor: Sensor, opts: { intervalMs?: number; seed?: number } = {}): Promise<DemoStream> {
  const r = rng(opts.seed ?? Date.now());
  const queue: string[] = [];
  const server: Server = createServer((socket) => {
    const ip = queue.shift() ?? sourceIp(r);
    sensor.smtp.handleSocket(socket, {
      channel: "direct",
      target: null,
      peer: { srcIp: ip, srcPort: 1024 + Math.floor(r() * 60000), destIp: DEMO_SENSOR_IP, destPort: 25 },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const interval = opts.intervalMs ?? 2500;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    if (stopped) return;
    const burst = r() < 0.2 ? 3 : 1;
    const ip = sourceIp(r);
    for (let i = 0; i < burst; i++) {
      queue.push(ip);
      void smtpConversation(port, scenario(r, ip, Date.now())).catch(() => {});
    }
    timer = setTimeout(tick, interval * (0.3 + r() * 1.4));
  };
  tick();
  return {
    port,
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Demo {
  sensor: Sensor;
  stream: DemoStream;
  seeded: { sessions: number; messages: number } | null;
  close(): Promise<void>;
}

/** A sensor with history (seeded only into an empty store) and a live stream; the CLI's `relaytrap demo`. */
export async function runDemo(config: import("../config/schema.js").Config, opts: { days: number; intervalMs: number; log?: (l: string) => void }): Promise<Demo> {
  const { createSensor } = await import("../sensor.js");
  const sensor = await createSensor(config, { log: opts.log });
  let seeded: Demo["seeded"] = null;
  try {
    if (sensor.reader.countMessages() === 0 && opts.days > 0) seeded = await seedHistory(sensor.writer, { days: opts.days, sensorNames: [sensor.hostname] });
  } catch (err) {
    await sensor.close();
    throw err;
  }
  const stream = await startDemoStream(sensor, { intervalMs: opts.intervalMs });
  return {
    sensor,
    stream,
    seeded,
    async close() {
      await stream.close();
      await sensor.close();
    },
  };
}
