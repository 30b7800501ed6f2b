// Proxy-trapped mail in the API: the channel filter on messages and the list of proxy requests.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { it } from "node:test";
import { startSensor } from "../../test/helpers/sensor.js";
import { webPort } from "../../test/helpers/web.js";

/** HTTP CONNECT to a mail port through the proxy trap, then one SMTP transaction in the tunnel. */
async function mailThroughProxy(proxyPort: number): Promise<string> {
  const s = connect({ host: "127.0.0.1", port: proxyPort });
  let buf = "";
  s.setEncoding("latin1");
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => (re.test(buf) ? resolve() : undefined);
      s.on("data", (d: string) => {
        buf += d;
        check();
      });
      s.once("close", () => (re.test(buf) ? resolve() : reject(new Error(`closed: ${buf}`))));
      check();
    });
  s.write("CONNECT 127.0.0.9:25 HTTP/1.1\r\nHost: 127.0.0.9:25\r\n\r\n");
  await waitFor(/^HTTP\/1\.[01] 200[^]*\r\n\r\n220 /);
  s.write("HELO spammer.example\r\nMAIL FROM:<s@spam.example>\r\nRCPT TO:<v@yahoo.com>\r\nDATA\r\n");
  await waitFor(/354 /);
  s.write("Subject: via proxy\r\n\r\nbuy\r\n.\r\nQUIT\r\n");
  await waitFor(/221 /);
  s.destroy();
  return buf;
}

it("lists proxy-trapped messages by channel and the proxy requests themselves", async () => {
  const t = await startSensor({ proxyListen: ["127.0.0.1:0"] });
  try {
    const proxyPort = t.sensor.listeners.find((l) => l.kind === "proxy")!.port;
    await mailThroughProxy(proxyPort);
    await t.waitEvent("smtp.message.stored");
    const base = `http://127.0.0.1:${webPort(t)}`;
    const viaProxy = (await (await fetch(`${base}/api/v1/messages?channel=http-connect`)).json()) as { items: Array<{ subject: string; channel: string }> };
    assert.deepEqual(viaProxy.items.map((m) => [m.subject, m.channel]), [["via proxy", "http-connect"]]);
    const direct = (await (await fetch(`${base}/api/v1/messages?channel=direct`)).json()) as { items: unknown[] };
    assert.equal(direct.items.length, 0);
    assert.equal((await fetch(`${base}/api/v1/messages?channel=carrier-pigeon`)).status, 400);
    await t.waitEvent("proxy.session.closed");
    await t.sensor.writer.exec([]); // the writer is FIFO: once this commits, the proxy rows before it have too
    const requests = (await (await fetch(`${base}/api/v1/proxy/requests`)).json()) as { items: Array<{ method: string; target: string }> };
    assert.ok(requests.items.some((r) => r.method === "CONNECT" && r.target === "127.0.0.9:25"), JSON.stringify(requests));
    const stats = (await (await fetch(`${base}/api/v1/stats/attempts?bucket=day`)).json()) as { series: Array<{ proxyRequests: number; messages: number }> };
    const today = stats.series.at(-1)!;
    assert.equal(today.proxyRequests, requests.items.length);
    assert.equal(today.messages, 1);
  } finally {
    await t.close();
  }
});

it("the proxy request list shows the credentials a client sent; the public view never gets them (issue 17 item 4)", async () => {
  const { hashPassword } = await import("./auth.js");
  const t = await startSensor({ proxyListen: ["127.0.0.1:0"], web: { users: [{ name: "admin", passwordHash: await hashPassword("correct horse") }], public: true } });
  try {
    const proxyPort = t.sensor.listeners.find((l) => l.kind === "proxy")!.port;
    const s = connect({ host: "127.0.0.1", port: proxyPort });
    s.setEncoding("latin1");
    let buf = "";
    s.on("data", (d: string) => (buf += d));
    const basic = Buffer.from("proxyuser:s3cret-pass").toString("base64");
    s.write(`GET http://judge.example/ HTTP/1.1\r\nHost: judge.example\r\nProxy-Authorization: Basic ${basic}\r\nConnection: close\r\n\r\n`);
    await new Promise<void>((r) => s.once("close", () => r()));
    await t.waitEvent("proxy.session.closed");
    await t.sensor.writer.exec([]);
    const base = `http://127.0.0.1:${webPort(t)}`;
    const login = await fetch(`${base}/api/v1/login`, { method: "POST", headers: { "Content-Type": "application/json", Origin: base }, body: JSON.stringify({ name: "admin", password: "correct horse" }) });
    assert.equal(login.status, 200, await login.clone().text());
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    const requests = (await (await fetch(`${base}/api/v1/proxy/requests`, { headers: { Cookie: cookie } })).json()) as { items: Array<{ target: string; username: string | null; password: string | null }> };
    const r = requests.items.find((x) => x.target.includes("judge.example"));
    assert.ok(r, JSON.stringify(requests));
    assert.equal(r.username, "proxyuser");
    assert.equal(r.password, "s3cret-pass");
    const anon = await fetch(`${base}/api/v1/proxy/requests`);
    assert.ok(anon.status === 401 || anon.status === 403, String(anon.status));
    assert.doesNotMatch(await anon.text(), /s3cret/);
    assert.ok(buf.length > 0);
  } finally {
    await t.close();
  }
});
