// relaytrap UI: one ES module, no framework. Every piece of trapped data goes into the page as text (textContent),
// never as markup; the HTML part of a message is only ever shown in a sandboxed iframe from its own endpoint.
import uPlot from "/assets/uplot.esm.js";

const main = document.getElementById("main");
let me = { level: "none", csrf: null, user: null, authEnabled: false, public: false };

/** h("tag.class", {attr: v, onclick: f}, ...children): children are nodes or text. */
function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmtTime = (ms) => (ms === null || ms === undefined ? "" : new Date(ms).toISOString().replace("T", " ").slice(0, 19));
const fmtBytes = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
const link = (href, text) => h("a", { href }, text);
const kindTag = (k) => h(`span.tag.${k}`, {}, k);
// Relay-test confidence (issue 15): only "certain" is delivered, learned, reported and shared.
const confidenceTag = (c) => (c ? h(`span.tag.confidence-${c}`, { title: c === "certain" ? "acted on" : "shown only, never acted on" }, c) : "");

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, opts = {}) {
  const headers = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.method && opts.method !== "GET" && me.csrf) headers["X-CSRF-Token"] = me.csrf;
  const res = await fetch(path, { method: opts.method ?? "GET", headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), credentials: "same-origin" });
  let data = null;
  try {
    data = await res.json();
  } catch {}
  if (!res.ok) {
    if (res.status === 401 && location.pathname !== "/login") {
      location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      throw new ApiError(401, "login required");
    }
    throw new ApiError(res.status, data?.error ?? res.statusText);
  }
  return data;
}

function render(...nodes) {
  main.replaceChildren(...nodes);
}

function table(columns, rows, rowAttrs) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c[0])))),
    h("tbody", {}, rows.length === 0 ? h("tr", {}, h("td.muted", { colspan: columns.length }, "nothing yet")) : rows.map((r) => h("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h("td", c[2] ?? {}, c[1](r)))))),
  );
}

function kv(pairs) {
  return h("dl.kv", {}, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "")]));
}

// ---------- dashboard

const RANGES = [
  ["30 days", 30],
  ["90 days", 90],
  ["1 year", 365],
  ["5 years", 5 * 365],
  ["all", null],
];

function chart(container, title, series, log) {
  const xs = series.map((b) => Date.parse(b.start) / 1000);
  const val = (v) => (log && v === 0 ? null : v);
  const data = [xs, series.map((b) => val(b.sessions)), series.map((b) => val(b.messages)), series.map((b) => val(b.relayTests))];
  container.replaceChildren();
  container.dataset.points = String(xs.length);
  if (xs.length === 0) {
    container.append(h("p.muted", {}, `${title}: no data in this range`));
    return;
  }
  const width = Math.max(320, container.clientWidth - 4);
  new uPlot(
    {
      title,
      width,
      height: 240,
      scales: { x: { time: true }, y: log ? { distr: 3 } : { auto: true } },
      axes: [{}, { size: 60 }],
      series: [
        {},
        { label: "sessions", stroke: "#98a2b3", width: 1 },
        { label: "messages", stroke: "#0b5cad", width: 1.5 },
        { label: "relay tests", stroke: "#b42318", width: 2 },
      ],
    },
    data,
    container,
  );
}

async function loadCharts(panels, days) {
  const since = days === null ? undefined : Date.now() - days * 86_400_000;
  const qs = (bucket) => `/api/v1/stats/attempts?bucket=${bucket}` + (since === undefined ? "" : `&since=${since}`);
  const [month, week, day] = await Promise.all([api(qs("month")), api(qs("week")), api(qs("day"))]);
  chart(panels.month, "Relay attempts per month (log scale)", month.series, true);
  chart(panels.week, "Per week", week.series, false);
  chart(panels.day, "Per day", day.series, false);
}

async function dashboard() {
  const s = await api("/api/v1/summary");
  const card = (n, l) => h("div.card", {}, h("div.n", {}, n), h("div.l", {}, l));
  const panels = { month: h("div.chart", { id: "chart-month" }), week: h("div.chart", { id: "chart-week" }), day: h("div.chart", { id: "chart-day" }) };
  const rangeButtons = RANGES.map(([label, days]) =>
    h(
      "button",
      {
        type: "button",
        "aria-pressed": days === 365 ? "true" : "false",
        onclick: (ev) => {
          for (const b of ev.target.parentElement.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
          ev.target.setAttribute("aria-pressed", "true");
          void loadCharts(panels, days).catch(showError);
        },
      },
      label,
    ),
  );
  const feed = h("ul.feed", { id: "feed" });
  render(
    h("h1", {}, "Dashboard"),
    h("div.cards", {}, [
      card(s.totals.sessions, "sessions"),
      card(s.totals.messages, "messages"),
      card(s.totals.relayTests, "relay tests"),
      card(s.totals.spam, "spam"),
      card(s.totals.sources, "sources"),
      card(fmtBytes(s.totals.bytes), "trapped"),
      card(s.last24h.sessions, "sessions, 24 h"),
      card(s.last24h.relayTests, "relay tests, 24 h"),
      card(s.activeSessions, "connected now"),
    ]),
    h("h2", {}, "Relay attempts"),
    h("div.range", {}, h("span.muted", {}, "Range:"), rangeButtons),
    h("div.panel", {}, panels.month),
    h("div.grid2", {}, h("div.panel", {}, panels.week), h("div.panel", {}, panels.day)),
    h(
      "div.grid2",
      {},
      h(
        "div",
        {},
        h("h2", {}, "Top sources (30 days)"),
        me.level === "admin"
          ? table(
              [
                ["source", (r) => link(`/sources/${encodeURIComponent(r.ip)}`, r.ip)],
                ["sessions", (r) => r.sessions],
                ["messages", (r) => r.messages],
                ["relay tests", (r) => r.relayTests],
                ["last seen", (r) => fmtTime(r.lastSeen)],
              ],
              s.topSources,
            )
          : h("p.muted", {}, "Sources are shown to signed-in users."),
      ),
      h(
        "div",
        {},
        h("h2", {}, "Top dropboxes"),
        table(
          [
            ["address", (r) => link(`/messages?kind=relay-test&dropbox=${encodeURIComponent(r.address)}`, r.address), { class: "wrap" }],
            ["tests", (r) => r.tests],
            ["sources", (r) => r.sources],
            ["last seen", (r) => fmtTime(r.lastSeen)],
          ],
          s.topDropboxes,
        ),
      ),
    ),
    h("h2", {}, "Live"),
    h("div.panel", {}, feed),
  );
  await loadCharts(panels, 365);
  startFeed(feed);
}

function startFeed(feed) {
  const es = new EventSource("/api/v1/events");
  es.addEventListener("relaytrap", (ev) => {
    let e;
    try {
      e = JSON.parse(ev.data);
    } catch {
      return;
    }
    const parts = [fmtTime(Date.parse(e.timestamp)), e.eventid, e.src_ip ?? ""];
    if (e.kind) parts.push(e.kind);
    if (e.subject) parts.push(JSON.stringify(String(e.subject).slice(0, 80)));
    if (e.reason) parts.push(e.reason);
    const li = h("li", {}, e.message && me.level === "admin" ? link(`/messages/${e.message}`, parts.join("  ")) : parts.join("  "));
    feed.prepend(li);
    while (feed.children.length > 200) feed.lastElementChild.remove();
  });
  addEventListener("pagehide", () => es.close());
}

// ---------- lists

async function messages() {
  const params = new URLSearchParams(location.search);
  const apiParams = new URLSearchParams();
  for (const k of ["kind", "src_ip", "channel", "dropbox", "q", "since", "until", "before", "limit"]) {
    const v = params.get(k);
    if (v) apiParams.set(k, v);
  }
  const data = await api("/api/v1/messages?" + apiParams.toString());
  const field = (name, label, attrs = {}) => h("label", {}, label, h("input", { name, value: params.get(name) ?? "", ...attrs }));
  const kindSel = h(
    "select",
    { name: "kind" },
    ["", "relay-test", "spam", "other", "unknown"].map((k) => h("option", { value: k, selected: (params.get("kind") ?? "") === k }, k || "any")),
  );
  const channelSel = h(
    "select",
    { name: "channel" },
    ["", "direct", "http-connect", "socks4", "socks5"].map((k) => h("option", { value: k, selected: (params.get("channel") ?? "") === k }, k || "any")),
  );
  const form = h(
    "form.filters",
    { method: "get", action: "/messages" },
    h("label", {}, "kind", kindSel),
    h("label", {}, "via", channelSel),
    field("q", "search", { type: "search", placeholder: "subject, address, text", size: 28 }),
    field("src_ip", "source IP", { size: 16 }),
    field("dropbox", "dropbox", { size: 24 }),
    field("since", "since (ISO)", { size: 12, placeholder: "2024-01-01" }),
    field("until", "until (ISO)", { size: 12 }),
    h("button", { type: "submit" }, "Filter"),
  );
  const title = params.get("kind") === "relay-test" ? "Relay tests" : params.get("kind") === "spam" ? "Spam runs" : "Messages";
  const nextParams = new URLSearchParams(params);
  if (data.next) nextParams.set("before", data.next);
  render(
    h("h1", {}, title),
    form,
    table(
      [
        ["received", (r) => link(`/messages/${r.id}`, fmtTime(r.receivedAt))],
        ["kind", (r) => kindTag(r.kind)],
        ["confidence", (r) => confidenceTag(r.confidence)],
        ["via", (r) => r.channel ?? "direct"],
        ["source", (r) => (me.level === "admin" ? link(`/sources/${encodeURIComponent(r.srcIp)}`, r.srcIp) : r.srcIp)],
        ["from", (r) => r.mailFrom ?? "<>", { class: "wrap" }],
        ["to", (r) => r.rcptTo.join(", "), { class: "wrap" }],
        ["subject", (r) => r.subject ?? "", { class: "wrap" }],
        ["size", (r) => fmtBytes(r.size)],
      ],
      data.items,
      (r) => ({ class: `kind-${r.kind}` }),
    ),
    data.next ? h("p", {}, link("/messages?" + nextParams.toString(), "Older →")) : null,
  );
}

async function dropboxes() {
  const d = await api("/api/v1/dropboxes?limit=500");
  const rows = d.items;
  const cols = [
    ["address", (r) => link(`/messages?kind=relay-test&dropbox=${encodeURIComponent(r.address)}`, r.address), { class: "wrap" }],
    ["kind", (r) => r.kind],
    ["tests", (r) => r.tests],
    ["sources", (r) => r.sources],
    ["tester", (r) => r.tester ?? ""],
    ["first seen", (r) => fmtTime(r.firstSeen)],
    ["last seen", (r) => fmtTime(r.lastSeen)],
  ];
  render(h("h1", {}, "Dropboxes"), h("p.muted", {}, "Addresses relay tests asked to be delivered to: the spammers' own mailboxes."), table(cols, rows));
}

async function deliveries() {
  const before = new URLSearchParams(location.search).get("before");
  const d = await api(`/api/v1/deliveries?limit=100${before ? `&before=${encodeURIComponent(before)}` : ""}`);
  const cols = [
    ["queued", (r) => fmtTime(r.createdAt)],
    ["message", (r) => link(`/messages/${r.messageId}`, r.subject ?? `#${r.messageId}`), { class: "wrap" }],
    ["to", (r) => r.recipient, { class: "wrap" }],
    ["mode", (r) => r.mode],
    ["status", (r) => r.status],
    ["attempts", (r) => r.attempts],
    ["source", (r) => link(`/sources/${encodeURIComponent(r.srcIp)}`, r.srcIp)],
    ["last error / reply", (r) => r.lastError ?? r.response ?? "", { class: "wrap" }],
  ];
  render(
    h("h1", {}, "Deliveries"),
    h("p.muted", {}, "Relay tests delivered to their dropboxes (only when delivery is enabled), with every attempt's outcome."),
    table(cols, d.items),
    d.next ? h("p", {}, link(`/deliveries?before=${d.next}`, "Older")) : "",
  );
}

async function proxyRequests() {
  const before = new URLSearchParams(location.search).get("before");
  const d = await api(`/api/v1/proxy/requests?limit=100${before ? `&before=${encodeURIComponent(before)}` : ""}`);
  const cols = [
    ["time", (r) => fmtTime(r.at)],
    ["source", (r) => link(`/sources/${encodeURIComponent(r.srcIp)}`, r.srcIp)],
    ["protocol", (r) => r.protocol],
    ["method", (r) => r.method],
    ["target", (r) => r.target, { class: "wrap" }],
    ["outcome", (r) => r.outcome],
  ];
  render(
    h("h1", {}, "Proxy requests"),
    h("p.muted", {}, "What clients of the open-proxy trap asked for. Nothing was forwarded: mail ports went into the SMTP trap, the rest was answered here."),
    table(cols, d.items),
    d.next ? h("p", {}, link(`/proxy?before=${d.next}`, "Older")) : "",
  );
}

// ---------- one message, session, source

async function message(id) {
  const m = await api(`/api/v1/messages/${id}`);
  const v = m.verdict;
  const admin = me.level === "admin";
  const parts = [
    h("h1", {}, m.subject ?? "(no subject)"),
    h("p", {}, kindTag(m.kind), " ", admin && m.bodyStored ? link(`/api/v1/messages/${m.id}/raw`, "raw source") : h("span.muted", {}, m.bodyStored ? "" : `body not kept (${m.dropReason ?? "?"})`)),
    h("h2", {}, "Envelope"),
    kv([
      ["received", fmtTime(m.receivedAt)],
      ["source", admin ? link(`/sources/${encodeURIComponent(m.srcIp)}`, `${m.srcIp}:${m.srcPort}`) : m.srcIp],
      ["to sensor", `${m.destIp}:${m.destPort} (${m.channel})`],
      ["HELO", m.helo],
      ["MAIL FROM", m.mailFrom ?? "<>"],
      ["RCPT TO", m.rcptTo.join(", ")],
      ["session", admin && m.session ? link(`/sessions/${encodeURIComponent(m.sessionId)}`, m.sessionId) : m.sessionId],
      ["size", fmtBytes(m.size)],
      ["sha256", m.sha256],
      ["delivery", m.delivery && m.delivery.length ? m.delivery.map((d) => `${d.recipient}: ${d.status}${d.attempts ? ` after ${d.attempts} attempt(s)` : ""}`).join("; ") : "not delivered"],
    ]),
  ];
  if (v) {
    parts.push(
      h("h2", {}, "Verdict"),
      kv([
        ["kind", v.kind],
        ["confidence", v.confidence ? `${v.confidence}${v.confidence === "certain" ? " (acted on: delivery, dropboxes, reports, feeds)" : " (shown only, never acted on)"}` : "none (stored before confidence, or no relay-test evidence: `relaytrap reanalyze`)"],
        ["why", v.reasons && v.reasons.length ? h("ul", {}, ...v.reasons.map((r) => h("li", {}, r))) : ""],
        ["score", v.score],
        ["tested IPs", v.testedIps.join(", ")],
        ["matches sensor", String(v.matchesSensor)],
        ["dropboxes", v.dropboxes.join(", ")],
        v.tester ? ["tester", v.tester] : null,
      ]),
      table(
        [
          ["decoder", (e) => e.decoder],
          ["field", (e) => e.field],
          ["found", (e) => e.found, { class: "wrap" }],
          ["IP", (e) => e.ip ?? ""],
          ["weight", (e) => e.weight ?? ""],
        ],
        v.evidence,
      ),
    );
  }
  parts.push(h("h2", {}, "Headers"), table([["field", (x) => x.key], ["value", (x) => x.value, { class: "wrap" }]], m.headers));
  parts.push(h("h2", {}, "Text part"), h("pre", { id: "text-part" }, m.textBody ?? "(none)"));
  if (m.hasHtml && admin) {
    parts.push(
      h("h2", {}, "HTML part (sanitized; scripts, forms and remote content removed)"),
      // sandbox with no allow-* tokens: no scripts, no same-origin, no forms, no navigation, no popups.
      h("iframe.mail", { id: "html-part", sandbox: "", referrerpolicy: "no-referrer", loading: "lazy", src: `/api/v1/messages/${m.id}/html`, title: "HTML part" }),
    );
  }
  if (m.attachments.length) {
    parts.push(
      h("h2", {}, "Attachments"),
      table(
        [
          ["name", (a) => (admin ? link(`/api/v1/messages/${m.id}/attachments/${a.index}`, a.filename ?? `attachment ${a.index}`) : a.filename ?? "")],
          ["type", (a) => a.contentType],
          ["size", (a) => fmtBytes(a.size)],
          ["sha256", (a) => a.sha256, { class: "wrap" }],
        ],
        m.attachments,
      ),
    );
  }
  render(...parts);
}

async function session(id) {
  const s = await api(`/api/v1/sessions/${encodeURIComponent(id)}`);
  render(
    h("h1", {}, `Session ${s.id}`),
    kv([
      ["source", link(`/sources/${encodeURIComponent(s.srcIp)}`, `${s.srcIp}:${s.srcPort}`)],
      ["to sensor", `${s.destIp}:${s.destPort} (${s.protocol}, ${s.channel})`],
      ["started", fmtTime(s.startedAt)],
      ["ended", `${fmtTime(s.endedAt)} (${s.closeReason})`],
      ["HELO", s.helo],
      ["reverse DNS", s.rdns],
      ["TLS", s.tls ? `${s.tls.version} ${s.tls.cipher}${s.tls.sni ? " SNI " + s.tls.sni : ""}` : "no"],
      ["commands / messages", `${s.commands} / ${s.messages}`],
    ]),
    s.auth.length ? h("h2", {}, "AUTH attempts") : null,
    s.auth.length
      ? table(
          [
            ["mechanism", (a) => a.mechanism],
            ["user", (a) => a.username ?? ""],
            ["password", (a) => a.password ?? ""],
            ["accepted", (a) => String(a.accepted)],
          ],
          s.auth,
        )
      : null,
    h("h2", {}, "Messages"),
    table([["id", (r) => link(`/messages/${r.id}`, String(r.id))], ["kind", (r) => kindTag(r.kind)], ["subject", (r) => r.subject ?? ""]], s.messageList),
    h("h2", {}, "Transcript" + (s.transcriptTruncated ? " (truncated)" : "")),
    h(
      "pre.transcript",
      { id: "transcript" },
      s.transcript.map((l) => h(`span.${l.dir === "c" ? "c" : "s"}`, {}, `${String(l.t).padStart(6)} ms ${l.dir === "c" ? "C:" : "S:"} ${l.line}\n`)),
    ),
  );
}

async function source(ip) {
  const t = await api(`/api/v1/sources/${encodeURIComponent(ip)}`);
  render(
    h("h1", {}, `Source ${t.ip}`),
    kv([
      ["first seen", fmtTime(t.firstSeen)],
      ["last seen", fmtTime(t.lastSeen)],
      ["sessions", t.sessionCount],
      ["messages", t.messageCount],
      ["relay tests", t.relayTestCount],
    ]),
    h("h2", {}, "Messages"),
    table(
      [
        ["received", (r) => link(`/messages/${r.id}`, fmtTime(r.receivedAt))],
        ["kind", (r) => kindTag(r.kind)],
        ["to", (r) => r.rcptTo.join(", "), { class: "wrap" }],
        ["subject", (r) => r.subject ?? "", { class: "wrap" }],
      ],
      t.messages,
    ),
    h("h2", {}, "Sessions"),
    table(
      [
        ["started", (r) => link(`/sessions/${encodeURIComponent(r.id)}`, fmtTime(r.startedAt))],
        ["HELO", (r) => r.helo ?? ""],
        ["commands", (r) => r.commands],
        ["messages", (r) => r.messages],
        ["closed", (r) => r.closeReason ?? ""],
      ],
      t.sessions,
    ),
  );
}

async function configPage() {
  const [cfg, ks] = await Promise.all([api("/api/v1/config"), api("/api/v1/delivery/kill-switch")]);
  // The state as the server computes it (delivery/state.ts), the same words `relaytrap delivery status` prints.
  const describe = (r) =>
    r.available ? `delivery: ${r.state.effective}; kill switch ${r.engaged ? "engaged" : "released"}` : "this sensor has no delivery";
  const status = h("span", { id: "kill-status" }, describe(ks));
  const button = h(
    "button",
    {
      type: "button",
      id: "kill-switch",
      disabled: !ks.available,
      onclick: async () => {
        try {
          const r = await api("/api/v1/delivery/kill-switch", { method: "POST", body: { engaged: !ks.engaged } });
          Object.assign(ks, r);
          status.textContent = describe(r);
        } catch (err) {
          status.textContent = String(err.message);
        }
      },
    },
    "Delivery kill switch",
  );
  render(h("h1", {}, "Configuration"), h("p", {}, button, " ", status), h("h2", {}, "Effective configuration (secrets masked)"), h("pre", {}, JSON.stringify(cfg, null, 2)));
}

/** Where to go after login: `next` resolved the way the browser will resolve it ("/\host", "/<tab>/host" and "//host"
 * leave the site), followed only when it stays on this origin. */
function sameOriginNext(next) {
  if (!next) return "/";
  let u;
  try {
    u = new URL(next, location.origin);
  } catch {
    return "/";
  }
  return u.origin === location.origin ? u.pathname + u.search + u.hash : "/";
}

function loginPage() {
  const err = h("p.error", { id: "login-error" });
  const form = h(
    "form.login",
    {
      id: "login",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const fd = new FormData(form);
        try {
          await api("/api/v1/login", { method: "POST", body: { name: fd.get("name"), password: fd.get("password") } });
          location.assign(sameOriginNext(new URLSearchParams(location.search).get("next")));
        } catch (e) {
          err.textContent = e.message;
        }
      },
    },
    h("h1", {}, "Sign in"),
    h("input", { name: "name", placeholder: "user", autocomplete: "username", required: true }),
    h("input", { name: "password", type: "password", placeholder: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, "Sign in"),
    err,
  );
  render(form);
}

function showError(err) {
  render(h("h1", {}, "Error"), h("p.error", {}, err instanceof ApiError ? `${err.status}: ${err.message}` : String(err?.message ?? err)));
}

async function route() {
  const p = location.pathname;
  let m;
  if (p === "/login") return loginPage();
  if (p === "/") return dashboard();
  if (p === "/messages") return messages();
  if ((m = /^\/messages\/(\d+)$/.exec(p))) return message(m[1]);
  if ((m = /^\/sessions\/(.+)$/.exec(p))) return session(decodeURIComponent(m[1]));
  if ((m = /^\/sources\/(.+)$/.exec(p))) return source(decodeURIComponent(m[1]));
  if (p === "/dropboxes") return dropboxes();
  if (p === "/deliveries") return deliveries();
  if (p === "/proxy") return proxyRequests();
  if (p === "/config") return configPage();
  render(h("h1", {}, "Not found"));
}

async function start() {
  me = await api("/api/v1/me");
  const who = document.getElementById("who");
  if (me.level !== "admin") for (const a of document.querySelectorAll("[data-admin]")) a.remove();
  if (me.user) {
    who.append(`signed in as ${me.user}`, h("button", { type: "button", id: "logout", onclick: async () => {
      await api("/api/v1/logout", { method: "POST", body: {} });
      location.assign("/login");
    } }, "Sign out"));
  } else if (me.level === "public") {
    who.append("public view (addresses redacted) · ", link("/login", "sign in"));
  }
  if (me.level === "none" && location.pathname !== "/login") {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
    return;
  }
  await route();
  document.body.dataset.ready = "1";
}

start().catch((err) => {
  showError(err);
  document.body.dataset.ready = "error";
});
