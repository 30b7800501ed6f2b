// Browser tests in real Chromium (playwright-core, Debian's /usr/bin/chromium): the dashboard draws its graphs, hostile
// mail is displayed without a single request leaving for a beacon, login and CSRF work. Screenshots go to test-artifacts/.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { startSensor, type TestSensor } from "../../test/helpers/sensor.js";
import { eml, RELAY_TEST, sendMail, waitSessions, webPort } from "../../test/helpers/web.js";
import { hashPassword } from "./auth.js";
import { seedHistory } from "./demo.js";

const CHROMIUM = "/usr/bin/chromium";
/** The page's CSP forbids string eval, so page predicates are functions (typed loosely: no DOM lib here). */
type PageGlobal = { document: { getElementById(id: string): { dataset: { points?: string } } } };
const ARTIFACTS = "test-artifacts";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`;

async function launch(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

function hostileHtml(b: string): string {
  return [
    `<html><head><meta http-equiv="refresh" content="0;url=${b}/refresh">`,
    `<link rel="stylesheet" href="${b}/link.css"><style>@import url(${b}/import.css); body { background: url(${b}/style-bg.png) }</style>`,
    `<script src="${b}/ext.js"></script><script>fetch("${b}/script"); new Image().src = "${b}/script-img";</script></head>`,
    `<body background="${b}/body-bg.png" onload="fetch('${b}/onload')">`,
    `<h1>Hot deals</h1><p style="background-image: url(${b}/inline-css.png)">Buy now</p>`,
    `<img src="${b}/remote.gif" width="1" height="1"><img src="x" onerror="fetch('${b}/onerror')">`,
    `<img srcset="${b}/srcset.png 2x"><video poster="${b}/poster.png"></video><iframe src="${b}/iframe"></iframe>`,
    `<object data="${b}/object"></object><embed src="${b}/embed"><svg><image href="${b}/svg.png"/></svg>`,
    `<form id="f" action="${b}/form" method="post"><input name="a" value="b"><button>Claim</button></form>`,
    `<script>document.getElementById("f").submit()</script>`,
    `<a href="${b}/link">click</a></body></html>`,
  ].join("\n");
}

describe("web UI in Chromium", { skip }, () => {
  let browser: Browser;
  let t: TestSensor;
  let port: number;
  let beacon: Server;
  let beaconPort: number;
  const beaconHits: string[] = [];
  let hostileId: number;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    beacon = createServer((req, res) => {
      beaconHits.push(`${req.method} ${req.url}`);
      res.end("x");
    });
    await new Promise<void>((r) => beacon.listen(0, "127.0.0.1", r));
    beaconPort = (beacon.address() as { port: number }).port;
    t = await startSensor();
    port = webPort(t);
    await seedHistory(t.sensor.writer, { days: 420, perDay: 5, seed: 7 });
    const b = `http://127.0.0.1:${beaconPort}`;
    const boundary = "hostile-boundary";
    hostileId = await sendMail(
      t,
      "spammer@bulk.example",
      ["victim@example.com"],
      eml(
        [
          "From: Deals <spammer@bulk.example>",
          "To: victim@example.com",
          `Subject: <img src="${b}/subject.png"> Hot deals`,
          "Date: Wed, 4 Jan 2012 10:00:00 +0000",
          "MIME-Version: 1.0",
          `Content-Type: multipart/alternative; boundary="${boundary}"`,
        ],
        [
          `--${boundary}`,
          "Content-Type: text/plain; charset=utf-8",
          "",
          `Hot deals <img src="${b}/text-part.png"> <script>fetch("${b}/text-script")</script>`,
          `--${boundary}`,
          "Content-Type: text/html; charset=utf-8",
          "",
          hostileHtml(b),
          `--${boundary}--`,
          "",
        ].join("\r\n"),
      ),
    );
    await waitSessions(t, 1);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await t?.close();
    await new Promise<void>((r) => (beacon ? beacon.close(() => r()) : r()));
  });

  test("the dashboard renders the graphs with data", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
    await page.waitForSelector("#chart-attempts .uplot canvas");
    const chart = () => page.locator("#chart-attempts");
    // 1 year: weekly buckets; 30 days: daily; all: monthly with month names; the axis never runs into the future.
    assert.equal(await chart().getAttribute("data-bucket"), "week");
    assert.ok(Number(await chart().getAttribute("data-points")) >= 50);
    await page.getByRole("button", { name: "30 days" }).click();
    await page.waitForSelector("#chart-attempts[data-bucket='day'] .uplot canvas");
    assert.ok(Number(await chart().getAttribute("data-points")) <= 31);
    await page.getByRole("button", { name: "all" }).click();
    await page.waitForSelector("#chart-attempts[data-bucket='month'] .uplot canvas");
    assert.ok(Number(await chart().getAttribute("data-points")) >= 12, "the month chart spans the seeded history (about 14 months)");
    const ticks = ((await chart().getAttribute("data-ticks")) ?? "").split("|");
    assert.ok(ticks.length > 0 && ticks.every((x) => /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}$/.test(x)), ticks.join(","));
    const thisYear = new Date().getUTCFullYear();
    assert.ok(ticks.every((x) => Number(x.slice(4)) <= thisYear), `no tick in the future: ${ticks.join(",")}`);
    assert.match((await page.textContent("#chart-attempts")) ?? "", /UTC/);
    await page.getByRole("button", { name: "1 year" }).click();
    await page.waitForSelector("#chart-attempts[data-bucket='week'] .uplot canvas");
    assert.ok((await page.locator(".card").count()) >= 6);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard.png`, fullPage: false });
    if (process.env.RELAYTRAP_DOCS_SCREENSHOT) await page.screenshot({ path: process.env.RELAYTRAP_DOCS_SCREENSHOT, fullPage: false });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the campaign list and a campaign page render", async () => {
    for (const who of ["ann", "bob"]) {
      await sendMail(t, "run@bulk.example", [`${who}@victim.example`], eml([`Subject: Dear ${who}, your parcel 123${who.length} is waiting`], `Track parcel for ${who} at the depot, fees apply.\n`));
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/campaigns`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
    const row = page.locator("main table tbody tr a", { hasText: "your parcel # is waiting" });
    await row.click();
    await page.waitForURL(/\/campaigns\/\d+$/);
    await page.waitForSelector("#campaign-subjects li");
    assert.match((await page.textContent("h1")) ?? "", /^Campaign dear \{name\}, your parcel # is waiting/);
    assert.equal(await page.locator("#campaign-subjects li").count(), 2);
    await page.screenshot({ path: `${ARTIFACTS}/campaign.png`, fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the live feed shows new sessions as they happen", async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector("body[data-ready='1']");
    await sendMail(t, "a@b.example", ["c@d.example"], eml(["Subject: live feed check"], "hello\n"));
    await page.waitForSelector("#feed li:has-text('smtp.message.stored')", { timeout: 10_000 });
    assert.match((await page.textContent("#feed")) ?? "", /live feed check/);
    await page.close();
  });

  test("a relay test sent over SMTP appears on the open dashboard and relay-test list within 2 s, no reload (issue 17.1)", async () => {
    const dash = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const list = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    let reloads = 0;
    for (const p of [dash, list]) p.on("framenavigated", (f) => void (f === p.mainFrame() && reloads++));
    await dash.goto(`http://127.0.0.1:${port}/`);
    await list.goto(`http://127.0.0.1:${port}/messages?kind=relay-test`);
    for (const p of [dash, list]) {
      await p.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
      await p.waitForSelector("#live[data-state='connected']", { timeout: 5_000 });
    }
    reloads = 0;
    const cardValue = async () => Number(await dash.textContent("#cards [data-key='relayTests'] .n"));
    const before = await cardValue();
    const started = Date.now();
    await sendMail(t, "tester@live.example", ["dropbox@live.example"], RELAY_TEST("127.0.0.9"));
    await list.waitForSelector("#list tbody tr:first-child:has-text('127.0.0.9')", { timeout: 2_000 });
    await dash.waitForSelector(`#cards [data-key='relayTests'] .n:text-is("${before + 1}")`, { timeout: Math.max(100, 2_000 - (Date.now() - started)) });
    assert.ok(Date.now() - started < 2_500, "both pages updated within about 2 s of the message being stored");
    assert.equal(reloads, 0, "no page reloaded");
    await dash.close();
    await list.close();
  });

  test("lists: received order, sortable columns, a total, keyboard navigation (issue 17 item 2)", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`http://127.0.0.1:${port}/messages`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
    const want = t.sensor.reader.all<{ id: number }>("SELECT id FROM messages ORDER BY received_at DESC, id DESC LIMIT 3").map((r) => String(r.id));
    assert.deepEqual(await page.$$eval("#list tbody tr", (rs) => rs.slice(0, 3).map((r) => (r as unknown as { dataset: { id: string } }).dataset.id)), want);
    const n = t.sensor.reader.get<{ n: number }>("SELECT COUNT(*) AS n FROM messages")!.n;
    assert.match((await page.textContent("#count")) ?? "", new RegExp(`^${n.toLocaleString("en")} messages`));
    // Sorting: the size header sorts by size, largest first; a second click reverses.
    await page.click("th a.sort:has-text('size')");
    await page.waitForURL(/sort=size&order=desc/);
    await page.waitForSelector("body[data-ready='1']");
    const bySize = t.sensor.reader.all<{ id: number }>("SELECT id FROM messages ORDER BY size DESC, id DESC LIMIT 2").map((r) => String(r.id));
    assert.deepEqual(await page.$$eval("#list tbody tr", (rs) => rs.slice(0, 2).map((r) => (r as unknown as { dataset: { id: string } }).dataset.id)), bySize);
    await page.click("th a.sort:has-text('size')");
    await page.waitForURL(/sort=size&order=asc/);
    await page.waitForSelector("body[data-ready='1']");
    // Keyboard: j j k selects the first row, Enter opens it; / focuses the search field.
    const firstId = await page.getAttribute("#list tbody tr:first-child", "data-id");
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.waitForSelector("#list tbody tr:nth-child(2).selected");
    await page.keyboard.press("k");
    await page.waitForSelector("#list tbody tr:first-child.selected");
    await page.keyboard.press("/");
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), "search");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Enter");
    await page.waitForURL(new RegExp(`/messages/${firstId}$`));
    // The relay-test list: tested IP, matches sensor, tester, confidence/score, dropboxes; no stray null.
    await page.goto(`http://127.0.0.1:${port}/messages?kind=relay-test`);
    await page.waitForSelector("body[data-ready='1']");
    const heads = await page.$$eval("#list thead th", (ths) => ths.map((th) => (th as unknown as { textContent: string }).textContent));
    for (const hd of ["tested IP", "matches sensor", "tester", "confidence / score", "dropboxes"]) assert.ok(heads.some((x) => x.startsWith(hd)), hd);
    assert.doesNotMatch((await page.textContent("main")) ?? "", /\bnull|undefined/);
    await page.close();
  });

  test("every page fits 390 and 1400 px without sideways scrolling; the menu collapses; dark theme (issue 17 item 5)", async () => {
    const sessionId = t.sensor.reader.get<{ id: string }>("SELECT id FROM sessions ORDER BY started_at DESC LIMIT 1")!.id;
    const paths = ["/", "/messages?kind=relay-test", "/messages?kind=spam", "/messages", `/messages/${hostileId}`, "/dropboxes", "/deliveries", "/proxy", "/config",
      `/sessions/${encodeURIComponent(sessionId)}`, "/sources/127.0.0.1"];
    type Doc = { documentElement: { scrollWidth: number; clientWidth: number } };
    for (const width of [390, 1400]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      for (const p of paths) {
        await page.goto(`http://127.0.0.1:${port}${p}`);
        await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
        const [sw, cw] = await page.evaluate(() => {
          const d = (globalThis as unknown as { document: Doc }).document.documentElement;
          return [d.scrollWidth, d.clientWidth];
        });
        assert.ok(sw <= cw, `${p} at ${width} px is ${sw} px wide (viewport ${cw})`);
      }
      if (width === 390) {
        await page.goto(`http://127.0.0.1:${port}/messages?kind=relay-test`);
        await page.waitForSelector("body[data-ready='1']");
        assert.equal(await page.isVisible("nav"), false, "the navigation is collapsed");
        await page.click("#nav-toggle");
        assert.equal(await page.isVisible("nav a:has-text('Dropboxes')"), true, "Menu opens it");
        await page.screenshot({ path: `${ARTIFACTS}/relay-tests-390.png`, fullPage: false });
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForSelector("body[data-ready='1']");
        await page.screenshot({ path: `${ARTIFACTS}/dashboard-390.png`, fullPage: true });
      }
      await page.close();
    }
    // Dark theme: follows prefers-color-scheme, and the toggle switches it (kept across pages).
    const bg = (page: import("playwright-core").Page) =>
      page.evaluate(() => {
        const g = globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } };
        return g.getComputedStyle(g.document.body).backgroundColor;
      });
    const luminance = (rgb: string) => (rgb.match(/\d+/g) ?? []).slice(0, 3).reduce((a, x) => a + Number(x), 0) / 3;
    const context = await browser.newContext({ colorScheme: "dark", viewport: { width: 1400, height: 1000 } });
    const dark = await context.newPage();
    await dark.goto(`http://127.0.0.1:${port}/`);
    await dark.waitForSelector("body[data-ready='1']");
    await dark.waitForSelector("#chart-attempts .uplot canvas");
    assert.ok(luminance(await bg(dark)) < 60, `dark background (${await bg(dark)})`);
    await dark.screenshot({ path: `${ARTIFACTS}/dashboard-dark.png`, fullPage: false });
    await dark.goto(`http://127.0.0.1:${port}/messages?kind=relay-test`);
    await dark.waitForSelector("body[data-ready='1']");
    await dark.screenshot({ path: `${ARTIFACTS}/relay-tests-dark.png`, fullPage: false });
    await dark.click("#theme-toggle");
    assert.ok(luminance(await bg(dark)) > 200, "the toggle switches to light");
    await dark.reload();
    await dark.waitForSelector("body[data-ready='1']");
    assert.ok(luminance(await bg(dark)) > 200, "the choice is kept");
    await context.close();
  });

  test("hostile mail is displayed and the beacon receives zero requests", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`http://127.0.0.1:${port}/messages/${hostileId}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
    const frame = page.locator("iframe#html-part");
    assert.equal(await frame.getAttribute("sandbox"), "", "sandbox with no allow-* tokens");
    const content = page.frameLocator("iframe#html-part");
    await content.locator("h1").waitFor({ timeout: 10_000 });
    assert.equal(await content.locator("h1").textContent(), "Hot deals");
    assert.equal(await content.locator("form, input, script, iframe, object, embed, video, svg, meta[http-equiv], link, style, [onerror], [onload]").count(), 0);
    // Subject and text part are text, not markup.
    assert.match((await page.textContent("h1")) ?? "", /<img src=/);
    assert.match((await page.textContent("#text-part")) ?? "", /<script>/);
    // Also open the HTML endpoint and the raw source top-level: CSP sandbox and text/plain keep them inert.
    const direct = await browser.newPage();
    await direct.goto(`http://127.0.0.1:${port}/api/v1/messages/${hostileId}/html`);
    await direct.goto(`http://127.0.0.1:${port}/api/v1/messages/${hostileId}/raw`);
    assert.match((await direct.textContent("body")) ?? "", /fetch\(/);
    await new Promise((r) => setTimeout(r, 2000));
    await page.screenshot({ path: `${ARTIFACTS}/message.png`, fullPage: true });
    assert.deepEqual(beaconHits, [], "no request reached the beacon");
    assert.deepEqual(dialogs, []);
    await direct.close();
    await page.close();
  });
});

describe("web login in Chromium", { skip }, () => {
  let browser: Browser;
  let t: TestSensor;
  let port: number;

  before(async () => {
    t = await startSensor({ web: { users: [{ name: "admin", passwordHash: await hashPassword("hunter2 hunter2") }] } });
    port = webPort(t);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test("login flow, CSRF rejection, logout", async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/config`);
    await page.waitForURL(/\/login\?next=%2Fconfig$/);
    await page.waitForSelector("form#login");
    await page.fill("input[name=name]", "admin");
    await page.fill("input[name=password]", "wrong");
    await page.click("button[type=submit]");
    await page.waitForSelector("#login-error:has-text('wrong user name or password')");
    await page.fill("input[name=password]", "hunter2 hunter2");
    await page.click("button[type=submit]");
    await page.waitForURL(`http://127.0.0.1:${port}/config`);
    await page.waitForSelector("body[data-ready='1']");
    assert.match((await page.textContent("#who")) ?? "", /signed in as admin/);
    assert.match((await page.textContent("main")) ?? "", /Effective configuration/);
    assert.doesNotMatch((await page.textContent("main")) ?? "", /scrypt\$/, "password hashes are masked");
    // The delivery state in the server's words (the same as `relaytrap delivery status`), booleans shown as they are.
    assert.equal(await page.textContent("#kill-status"), "delivery: off (config); kill switch released");
    assert.match((await page.textContent("main")) ?? "", /"allowPrivateMx": false/);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "relaytrap_session");
    assert.ok(session);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Strict");
    assert.equal(await page.evaluate("document.cookie"), "", "the session cookie is not readable by scripts");
    // A state-changing request without the CSRF token is refused, with it accepted.
    const statuses = await page.evaluate(async () => {
      const without = await fetch("/api/v1/delivery/kill-switch", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"engaged":true}' });
      const me = (await (await fetch("/api/v1/me")).json()) as { csrf: string };
      const withToken = await fetch("/api/v1/delivery/kill-switch", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf },
        body: '{"engaged":true}',
      });
      return [without.status, withToken.status];
    });
    assert.deepEqual(statuses, [403, 200]);
    await page.click("#logout");
    await page.waitForURL(/\/login$/);
    const after = await page.evaluate(async () => (await fetch("/api/v1/config")).status);
    assert.equal(after, 401);
    await page.close();
  });

  test("after login, a next= that resolves to another origin is not followed (issue 14)", async () => {
    const hits: string[] = [];
    const other = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.end("left the site");
    });
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    const otherPort = (other.address() as { port: number }).port;
    try {
      for (const next of [`/%5C127.0.0.1:${otherPort}/x`, `/%09/127.0.0.1:${otherPort}/x`, `//127.0.0.1:${otherPort}/x`, `http://127.0.0.1:${otherPort}/x`, `/\\127.0.0.1:${otherPort}/x`]) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`http://127.0.0.1:${port}/login?next=${next}`);
        await page.waitForSelector("form#login");
        await page.fill("input[name=name]", "admin");
        await page.fill("input[name=password]", "hunter2 hunter2");
        await page.click("button[type=submit]");
        await page.waitForURL((u) => u.pathname !== "/login" || u.port !== String(port), { timeout: 10_000 });
        await page.waitForLoadState("load");
        assert.equal(new URL(page.url()).origin, `http://127.0.0.1:${port}`, next);
        assert.equal(new URL(page.url()).pathname, "/", next);
        await context.close();
      }
      // A same-origin next is still followed.
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${port}/login?next=${encodeURIComponent("/messages?kind=relay-test")}`);
      await page.waitForSelector("form#login");
      await page.fill("input[name=name]", "admin");
      await page.fill("input[name=password]", "hunter2 hunter2");
      await page.click("button[type=submit]");
      await page.waitForURL(`http://127.0.0.1:${port}/messages?kind=relay-test`);
      await context.close();
      assert.deepEqual(hits, [], "no request reached the other origin");
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});

describe("dashboard with only older data in Chromium (issue 17 item 6)", { skip }, () => {
  let browser: Browser;
  let t: TestSensor;

  before(async () => {
    t = await startSensor();
    await seedHistory(t.sensor.writer, { days: 20, perDay: 3, seed: 5, now: Date.now() - 400 * 86_400_000 });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test("an empty range says older data exists and offers all", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`http://127.0.0.1:${webPort(t)}/`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
    await page.getByRole("button", { name: "30 days" }).click();
    await page.waitForSelector("#chart-note:has-text('Nothing in the last 30 days')");
    await page.click("#show-all");
    await page.waitForSelector("#chart-attempts[data-bucket='month'] .uplot canvas");
    assert.equal(await page.textContent("#chart-note"), "");
    await page.close();
  });
});
