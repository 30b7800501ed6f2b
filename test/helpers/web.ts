// Test helpers for the web UI/API: send a message over real SMTP, fetch from the sensor's web listener, fixtures.
import assert from "node:assert/strict";
import { request } from "node:http";
import { startSensor, type TestSensor } from "./sensor.js";
import { SmtpClient } from "./smtp-client.js";

/** Sends one message over SMTP and waits until it is stored; returns its message id. */
export async function sendMail(t: TestSensor, mailFrom: string, rcptTo: string[], raw: string, helo = "client.example"): Promise<number> {
  const before = t.events.filter((e) => e.eventid === "smtp.message.stored").length;
  const c = await SmtpClient.connect(t.port);
  await c.reply();
  await c.startData({ greet: `EHLO ${helo}`, from: mailFrom, to: rcptTo });
  const r = await c.sendData(raw);
  assert.match(r[r.length - 1] ?? "", /^250/);
  await c.quit();
  const stored = await t.waitEvent("smtp.message.stored", () => t.events.filter((e) => e.eventid === "smtp.message.stored").length > before);
  const all = t.events.filter((e) => e.eventid === "smtp.message.stored");
  return (all[all.length - 1] ?? stored).message as number;
}

/** Waits until the session rows of all closed sessions are written (sessions are stored asynchronously). */
export async function waitSessions(t: TestSensor, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (t.sensor.reader.get<{ n: number }>("SELECT COUNT(*) AS n FROM sessions")!.n >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`sessions not stored (wanted ${n})`);
}

export function webPort(t: TestSensor): number {
  const l = t.sensor.listeners.find((x) => x.kind === "web");
  assert.ok(l, "no web listener");
  return l.port;
}

export function eml(headers: string[], body: string): string {
  return headers.join("\r\n") + "\r\n\r\n" + body;
}

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => any;
}

/** One request to the web listener on 127.0.0.1, the whole body read. */
export function http(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** A relay test naming `ip`, to a dropbox. */
export const RELAY_TEST = (ip: string) =>
  eml(["From: tester@dropbox.example", "To: dropbox@dropbox.example", `Subject: Open relay test ${ip}`, "Date: Mon, 2 Jan 2012 10:00:00 +0000"], `relay test ${ip}\n`);

/** Spam with a text and an HTML part (script, handler, remote image) and one attachment. */
export const SPAM = eml(
  [
    "From: Cheap Pills <pills@spam.example>",
    "To: victim@example.com",
    "Subject: Zyxwv pharmacy bargains",
    "Date: Tue, 3 Jan 2012 10:00:00 +0000",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
  ],
  [
    "--b1",
    'Content-Type: multipart/alternative; boundary="b2"',
    "",
    "--b2",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Buy quokkapills now",
    "--b2",
    "Content-Type: text/html; charset=utf-8",
    "",
    '<p onclick="x()">Buy <b>now</b><script>alert(1)</script><img src="http://203.0.113.9/t.gif"></p>',
    "--b2--",
    "--b1",
    'Content-Type: application/octet-stream; name="list.txt"',
    'Content-Disposition: attachment; filename="list.txt"',
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from("attachment payload\n").toString("base64"),
    "--b1--",
    "",
  ].join("\r\n"),
);

/** A sensor with defaults holding one relay test and one spam message from 127.0.0.1 (two sessions, both stored). */
export async function startSeededSensor(): Promise<{ t: TestSensor; port: number; relayId: number; spamId: number }> {
  const t = await startSensor();
  const relayId = await sendMail(t, "tester@dropbox.example", ["dropbox@dropbox.example"], RELAY_TEST("127.0.0.1"));
  const spamId = await sendMail(t, "pills@spam.example", ["victim@example.com", "other@example.com"], SPAM);
  await waitSessions(t, 2);
  return { t, port: webPort(t), relayId, spamId };
}
