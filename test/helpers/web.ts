// Test helpers for the web UI/API: send a message over real SMTP, fetch from the sensor's web listener.
import assert from "node:assert/strict";
import type { TestSensor } from "./sensor.js";
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
