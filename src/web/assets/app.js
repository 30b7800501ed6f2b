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
/** "ip:port", or the part that is known (never "null"). */
const hostPort = (ip, port) => (ip ?? "") + (port === null || port === undefined ? "" : `:${port}`);
const kindTag = (k) => h(`span.tag.${k}`, {}, k);
// Relay-test confidence (issue 15): only "certain" is delivered, learned, reported and shared.
// Offline country and AS of a source address (issue 17): "NL AS64500" with the AS name as its title.
const geoText = (g) => (g ? [g.country ?? "", g.asn !== null && g.asn !== undefined ? `AS${g.asn}` : ""].filter(Boolean).join(" ") : "");
const geoTag = (g) => (g ? h("span.geo", { title: g.asnName ?? "" }, geoText(g)) : "");
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

// ---------- live updates: one EventSource for the whole page. Each page may register `refresh` (re-read its data in
// place) and `onEvent` (per event, e.g. the feed); refreshes are coalesced to at most one per REFRESH_MIN_MS.

const REFRESH_MIN_MS = 1000;
/** Events after which the open page's data may have changed. */
const REFRESH_EVENTS = /^(smtp\.message\.(stored|dropped)|smtp\.session\.(connect|closed)|proxy\.|delivery\.)/;
const live = { es: null, refresh: null, onEvent: null, timer: null, last: 0, running: false, again: false };

function setLiveState(state) {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = state === "connected" ? "live" : state === "connecting" ? "connecting…" : "offline";
  el.title = state === "connected" ? "connected to the live stream: this page updates itself" : "not connected to the live stream: reload to see new data";
}

function scheduleRefresh() {
  if (!live.refresh) return;
  if (live.running) {
    live.again = true;
    return;
  }
  if (live.timer !== null) return;
  live.timer = setTimeout(runRefresh, Math.max(0, live.last + REFRESH_MIN_MS - Date.now()));
}

async function runRefresh() {
  live.timer = null;
  const f = live.refresh;
  if (!f) return;
  live.running = true;
  live.last = Date.now();
  try {
    await f();
  } catch {
    // a failed refresh leaves the page as it was; the next event tries again
  } finally {
    live.running = false;
    if (live.again) {
      live.again = false;
      scheduleRefresh();
    }
  }
}

/** What the page being rendered does with live events; a new page replaces the last one's hooks. */
function onLive(hooks) {
  live.refresh = hooks.refresh ?? null;
  live.onEvent = hooks.onEvent ?? null;
}

function startLive() {
  if (live.es) return;
  setLiveState("connecting");
  const es = new EventSource("/api/v1/events");
  live.es = es;
  es.addEventListener("open", () => setLiveState("connected"));
  es.addEventListener("error", () => setLiveState(es.readyState === EventSource.CLOSED ? "offline" : "connecting"));
  es.addEventListener("relaytrap", (ev) => {
    let e;
    try {
      e = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!e || typeof e !== "object") return;
    live.onEvent?.(e);
    if (typeof e.eventid === "string" && REFRESH_EVENTS.test(e.eventid)) scheduleRefresh();
  });
  addEventListener("pagehide", () => es.close());
}

function table(columns, rows, rowAttrs) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c[0])))),
    h(
      "tbody",
      {},
      rows.length === 0
        ? h("tr", {}, h("td.muted", { colspan: columns.length }, "nothing yet"))
        : rows.map((r) => h("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h("td", { ...(c[2] ?? {}), "data-label": c[3] ?? (typeof c[0] === "string" ? c[0] : null) }, c[1](r))))),
    ),
  );
}

function kv(pairs) {
  return h("dl.kv", {}, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "")]));
}

// ---------- dashboard

/** Each range with the bucket that suits it: a 30-day chart of months would be one or two points. */
const RANGES = [
  ["30 days", 30, "day"],
  ["90 days", 90, "day"],
  ["1 year", 365, "week"],
  ["5 years", 5 * 365, "month"],
  ["all", null, "month"],
];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const BUCKET_SECONDS = { day: 86_400, week: 7 * 86_400, month: 31 * 86_400 };

/** A bucket start (s since the epoch) as the chart labels it, in UTC: "Mar 2025" for months, "12 Mar 2025" else. */
function fmtBucket(sec, bucket, withYear = true) {
  const d = new Date(sec * 1000);
  const m = MONTHS[d.getUTCMonth()];
  if (bucket === "month") return `${m} ${d.getUTCFullYear()}`;
  return `${d.getUTCDate()} ${m}${withYear ? ` ${d.getUTCFullYear()}` : ""}`;
}

const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function chart(container, title, series, bucket, fromSec) {
  const xs = series.map((b) => Date.parse(b.start) / 1000);
  const log = bucket === "month";
  const val = (v) => (log && v === 0 ? null : v);
  const data = [xs, series.map((b) => val(b.sessions)), series.map((b) => val(b.messages)), series.map((b) => val(b.relayTests))];
  container.replaceChildren();
  container.dataset.points = String(xs.length);
  container.dataset.bucket = bucket;
  if (xs.length === 0) return;
  // The x axis runs from the range's start (or the first bucket) to now: never into the future, whatever the count.
  const nowSec = Date.now() / 1000;
  const xMin = Math.min(fromSec ?? xs[0], xs[0]) - (xs.length === 1 ? BUCKET_SECONDS[bucket] : 0);
  const xMax = Math.max(nowSec, xs[xs.length - 1]);
  const width = Math.max(280, container.clientWidth - 4);
  const fg = cssVar("--muted") || "#667085";
  const grid = cssVar("--line") || "#e3e6eb";
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  new uPlot(
    {
      title,
      width,
      height: width < 500 ? 200 : 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { x: { time: true, range: () => [xMin, xMax] }, y: log ? { distr: 3 } : { auto: true, range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [
        { ...axis, label: "UTC", labelSize: 18, values: (u, splits) => {
            const labels = splits.map((v) => fmtBucket(v, bucket, bucket === "month"));
            container.dataset.ticks = labels.join("|");
            return labels;
          }, space: bucket === "month" ? 70 : 60 },
        { ...axis, size: 50 },
      ],
      series: [
        { label: bucket === "month" ? "month" : bucket === "week" ? "week of" : "day (UTC)", value: (u, v) => (v === null ? "" : fmtBucket(v, bucket)) },
        { label: "sessions", stroke: cssVar("--chart-sessions") || "#98a2b3", width: 1 },
        { label: "messages", stroke: cssVar("--chart-messages") || "#0b5cad", width: 1.5 },
        { label: "relay tests", stroke: cssVar("--chart-tests") || "#b42318", width: 2 },
      ],
    },
    data,
    container,
  );
}

/** Draws the attempts chart for a range; when the range is empty but older data exists, says so and offers "all". */
async function loadCharts(panel, range, showAll) {
  const [label, days, bucket] = range;
  const since = days === null ? undefined : Date.now() - days * 86_400_000;
  const res = await api(`/api/v1/stats/attempts?bucket=${bucket}` + (since === undefined ? "" : `&since=${since}`));
  const per = bucket === "month" ? "per month (log scale)" : bucket === "week" ? "per week" : "per day";
  const empty = res.series.every((b) => b.sessions + b.messages + b.relayTests === 0);
  chart(panel.chart, `Relay attempts ${per}, ${label === "all" ? "all time" : `last ${label}`} (UTC)`, empty ? [] : res.series, bucket, since === undefined ? undefined : since / 1000);
  panel.note.replaceChildren();
  if (!empty) return;
  if (days !== null) {
    const older = await api(`/api/v1/stats/attempts?bucket=month&until=${since}`);
    if (older.series.some((b) => b.sessions + b.messages + b.relayTests > 0)) {
      const last = [...older.series].reverse().find((b) => b.sessions + b.messages + b.relayTests > 0);
      panel.note.append(
        `Nothing in the last ${label}; the newest older data is from ${fmtBucket(Date.parse(last.start) / 1000, "month")}. `,
        h("button", { type: "button", id: "show-all", onclick: showAll }, "Show all"),
      );
      return;
    }
  }
  panel.note.append("No relay attempts recorded yet.");
}

function dashboardCards(s) {
  const card = (n, l, key) => h("div.card", { dataset: { key } }, h("div.n", {}, n), h("div.l", {}, l));
  return [
    card(s.totals.sessions, "sessions", "sessions"),
    card(s.totals.messages, "messages", "messages"),
    card(s.totals.relayTests, "relay tests", "relayTests"),
    card(s.totals.spam, "spam", "spam"),
    card(s.totals.sources, "sources", "sources"),
    card(fmtBytes(s.totals.bytes), "trapped", "bytes"),
    card(s.last24h.sessions, "sessions, 24 h", "sessions24h"),
    card(s.last24h.relayTests, "relay tests, 24 h", "relayTests24h"),
    card(s.activeSessions, "connected now", "active"),
  ];
}

function topSourcesTable(s) {
  return me.level === "admin"
    ? table(
        [
          ["source", (r) => link(`/sources/${encodeURIComponent(r.ip)}`, r.ip)],
          ["country / AS", (r) => geoTag(r.geo)],
          ["sessions", (r) => r.sessions],
          ["messages", (r) => r.messages],
          ["relay tests", (r) => r.relayTests],
          ["last seen", (r) => fmtTime(r.lastSeen)],
        ],
        s.topSources,
      )
    : h("p.muted", {}, "Sources are shown to signed-in users.");
}

function topDropboxesTable(s) {
  return table(
    [
      ["address", (r) => link(`/messages?kind=relay-test&dropbox=${encodeURIComponent(r.address)}`, r.address), { class: "wrap" }],
      ["tests", (r) => r.tests],
      ["sources", (r) => r.sources],
      ["last seen", (r) => fmtTime(r.lastSeen)],
    ],
    s.topDropboxes,
  );
}

function feedLine(e) {
  const parts = [fmtTime(Date.parse(e.timestamp)), e.eventid, e.src_ip ?? ""];
  if (e.kind) parts.push(e.kind);
  if (e.proxy_protocol) parts.push(e.proxy_protocol);
  if (e.method) parts.push(e.method);
  if (e.target) parts.push(String(e.target).slice(0, 200));
  if (e.outcome) parts.push(`→ ${e.outcome}`);
  if (e.subject) parts.push(JSON.stringify(String(e.subject).slice(0, 80)));
  if (e.reason) parts.push(e.reason);
  const text = parts.filter((x) => x !== "" && x !== null && x !== undefined).join("  ");
  return h("li", {}, e.message && me.level === "admin" ? link(`/messages/${e.message}`, text) : text);
}

async function dashboard() {
  const s = await api("/api/v1/summary");
  const panel = { chart: h("div.chart", { id: "chart-attempts" }), note: h("p.muted.chart-note", { id: "chart-note" }) };
  let range = RANGES[2];
  const rangeButtons = RANGES.map((r) =>
    h(
      "button",
      {
        type: "button",
        "aria-pressed": r === range ? "true" : "false",
        onclick: (ev) => {
          for (const b of ev.target.parentElement.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
          ev.target.setAttribute("aria-pressed", "true");
          range = r;
          void loadCharts(panel, range, showAll).catch(showError);
        },
      },
      r[0],
    ),
  );
  const showAll = () => rangeButtons[rangeButtons.length - 1].click();
  const feed = h("ul.feed", { id: "feed" });
  const cards = h("div.cards", { id: "cards" }, dashboardCards(s));
  const sources = h("div", { id: "top-sources" }, topSourcesTable(s));
  const dropboxes = h("div", { id: "top-dropboxes" }, topDropboxesTable(s));
  const tops = me.level === "admin" ? h("div", { id: "tops" }) : null;
  render(
    h("h1", {}, "Dashboard"),
    cards,
    h("h2", {}, "Relay attempts"),
    h("div.range", {}, h("span.muted", {}, "Range:"), rangeButtons),
    h("div.panel", {}, panel.chart, panel.note),
    h("div.grid2", {}, h("div", {}, h("h2", {}, "Top sources (30 days)"), sources), h("div", {}, h("h2", {}, "Top dropboxes"), dropboxes)),
    tops,
    h("h2", {}, "Live"),
    h("div.panel", {}, feed),
  );
  if (tops) await loadTops(tops);
  await loadCharts(panel, range, showAll);
  onLive({
    onEvent: (e) => {
      feed.prepend(feedLine(e));
      while (feed.children.length > 200) feed.lastElementChild.remove();
    },
    refresh: async () => {
      const [n] = await Promise.all([api("/api/v1/summary"), loadCharts(panel, range, showAll)]);
      cards.replaceChildren(...dashboardCards(n));
      sources.replaceChildren(topSourcesTable(n));
      dropboxes.replaceChildren(topDropboxesTable(n));
      if (tops) await loadTops(tops);
    },
  });
}

/** The dashboard's top-N tables for signed-in users: countries, ASes, HELO names, testers, AUTH credentials tried. */
async function loadTops(el) {
  const t = await api("/api/v1/stats/top");
  const counts = [
    ["sources", (r) => r.sources],
    ["sessions", (r) => r.sessions],
    ["messages", (r) => r.messages],
  ];
  const named = [
    ["count", (r) => r.count],
    ["sources", (r) => r.sources],
    ["last seen", (r) => fmtTime(r.lastSeen)],
  ];
  const box = (title, node) => h("div", {}, h("h2", {}, title), node);
  el.replaceChildren(
    h(
      "div.grid2",
      {},
      box(`Top countries (${t.days} days)`, table([["country", (r) => r.key], ...counts], t.countries)),
      box(`Top ASes (${t.days} days)`, table([["AS", (r) => `AS${r.key}`], ["name", (r) => r.name ?? "", { class: "wrap" }], ...counts], t.asns)),
    ),
    h(
      "div.grid2",
      {},
      box("Top HELO names", table([["HELO", (r) => r.name, { class: "wrap" }], ...named], t.helos)),
      box("Top testers", table([["tester", (r) => r.name], ...named], t.testers)),
    ),
    t.credentials.length
      ? box(
          "AUTH credentials tried",
          table(
            [
              ["mechanism", (r) => r.mechanism ?? ""],
              ["user", (r) => r.username ?? "", { class: "wrap" }],
              ["password", (r) => r.password ?? "", { class: "wrap" }],
              ...named,
            ],
            t.credentials,
          ),
        )
      : null,
  );
}

// ---------- lists

/** An address as text that may break only after "@" and "." (never mid-word): text nodes and <wbr> elements. */
function addr(s) {
  if (s === null || s === undefined || s === "") return "";
  const out = [];
  for (const part of String(s).split(/(?<=[@.])/)) out.push(part, h("wbr"));
  out.pop();
  return h("span.addr", {}, out);
}

function addrList(list) {
  const out = [];
  list.forEach((a, i) => out.push(i ? ", " : "", addr(a)));
  return out;
}

/** Recipients: a relay test to many dropboxes collapses to "21 dropboxes" (the message page lists them). */
function recipients(r) {
  const n = r.kind === "relay-test" && typeof r.dropboxCount === "number" && r.dropboxCount > 1 ? r.dropboxCount : r.rcptTo.length > 3 ? r.rcptTo.length : 0;
  if (n) return h("span", { title: r.rcptTo.join(", ") }, r.kind === "relay-test" ? `${n} dropboxes` : `${n} recipients`);
  return addrList(r.rcptTo);
}

/** Keyboard navigation of a list: j/k or arrows move, Enter opens the row's link, / focuses the search field. */
function listKeys(container, search) {
  let sel = -1;
  const rows = () => [...container.querySelectorAll("tbody tr[data-id]")];
  const select = (i) => {
    const rs = rows();
    if (rs.length === 0) return;
    sel = Math.max(0, Math.min(rs.length - 1, i));
    rs.forEach((r, k) => r.classList.toggle("selected", k === sel));
    rs[sel].setAttribute("aria-selected", "true");
    rs[sel].scrollIntoView({ block: "nearest" });
  };
  const handler = (ev) => {
    if (!container.isConnected) return removeEventListener("keydown", handler);
    const t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
      if (ev.key === "Escape") t.blur();
      return;
    }
    if (ev.key === "j" || ev.key === "ArrowDown") select(sel + 1);
    else if (ev.key === "k" || ev.key === "ArrowUp") select(sel - 1);
    else if (ev.key === "Enter" && sel >= 0) rows()[sel]?.querySelector("a")?.click();
    else if (ev.key === "/" && search) search.focus();
    else return;
    ev.preventDefault();
  };
  addEventListener("keydown", handler);
  // After a live refresh the same row (by id) stays selected.
  return {
    keep(render) {
      const id = rows()[sel]?.dataset.id;
      render();
      if (id === undefined) return;
      const i = rows().findIndex((r) => r.dataset.id === id);
      if (i >= 0) select(i);
      else sel = -1;
    },
  };
}

/** A column header that sorts the list by `key` (a second click reverses), as a link: the sort is in the URL. */
function sortHeader(label, key, params) {
  const cur = params.get("sort") ?? "received";
  const order = params.get("order") ?? "desc";
  const next = new URLSearchParams(params);
  next.delete("before");
  next.set("sort", key);
  next.set("order", cur === key && order === "desc" ? "asc" : "desc");
  const arrow = cur === key ? (order === "asc" ? " ▲" : " ▼") : "";
  return h("a.sort", { href: "/messages?" + next.toString(), "aria-sort": cur === key ? (order === "asc" ? "ascending" : "descending") : null }, label + arrow);
}

async function messages() {
  const params = new URLSearchParams(location.search);
  const apiParams = new URLSearchParams();
  for (const k of ["kind", "src_ip", "channel", "dropbox", "q", "since", "until", "before", "limit", "sort", "order"]) {
    const v = params.get(k);
    if (v) apiParams.set(k, v);
  }
  const load = () => api("/api/v1/messages?" + apiParams.toString());
  const data = await load();
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
  const search = h("input", { name: "q", id: "search", type: "search", placeholder: "subject, address, text   ( / )", value: params.get("q") ?? "" });
  const form = h(
    "form.filters",
    { method: "get", action: "/messages" },
    me.level === "admin" ? h("label", {}, "kind", kindSel) : h("input", { type: "hidden", name: "kind", value: "relay-test" }),
    h("label", {}, "via", channelSel),
    h("label.grow", {}, "search", search),
    field("src_ip", "source IP"),
    field("dropbox", "dropbox"),
    field("since", "since (ISO, UTC)", { placeholder: "2024-01-01" }),
    field("until", "until (ISO, UTC)"),
    params.get("sort") ? h("input", { type: "hidden", name: "sort", value: params.get("sort") }) : null,
    params.get("order") ? h("input", { type: "hidden", name: "order", value: params.get("order") }) : null,
    h("button", { type: "submit" }, "Filter"),
  );
  const relayList = params.get("kind") === "relay-test";
  const title = relayList ? "Relay tests" : params.get("kind") === "spam" ? "Spam runs" : "Messages";
  const source = (r) => (me.level === "admin" ? link(`/sources/${encodeURIComponent(r.srcIp)}`, r.srcIp) : r.srcIp);
  const received = ["received (UTC)", (r) => link(`/messages/${r.id}`, fmtTime(r.receivedAt)), { class: "nowrap" }, "received"];
  const columns = relayList
    ? [
        received,
        ["source", source, {}, "source"],
        ["tested IP", (r) => (r.testedIps ?? []).join(", ")],
        ["matches sensor", (r) => (r.matchesSensor === true ? "yes" : r.matchesSensor === false ? "no" : "")],
        ["tester", (r) => r.tester ?? ""],
        ["confidence / score", (r) => [confidenceTag(r.confidence), typeof r.score === "number" ? ` ${r.score}` : ""]],
        ["dropboxes", (r) => recipients(r), { class: "wrap" }],
        ["via", (r) => r.channel ?? "direct"],
        ["subject", (r) => r.subject ?? "", { class: "wrap" }],
      ]
    : [
        received,
        ["kind", (r) => kindTag(r.kind)],
        ["confidence", (r) => confidenceTag(r.confidence)],
        ["via", (r) => r.channel ?? "direct"],
        ["source", source, {}, "source"],
        ["geo", (r) => geoTag(r.geo)],
        ["from", (r) => (r.mailFrom ? addr(r.mailFrom) : "<>"), { class: "wrap" }],
        ["to", (r) => recipients(r), { class: "wrap" }],
        ["subject", (r) => r.subject ?? "", { class: "wrap" }],
        ["size", (r) => fmtBytes(r.size), { class: "nowrap" }, "size"],
      ];
  const heads = columns.map((c) => (c[3] ? sortHeader(c[0], c[3], params) : c[0]));
  const listTable = (d) => table(columns.map((c, i) => [heads[i], c[1], c[2], c[0]]), d.items, (r) => ({ class: `kind-${r.kind}`, dataset: { id: r.id } }));
  const countText = (d) =>
    typeof d.total === "number"
      ? `${d.total.toLocaleString("en")}${d.totalCapped ? "+" : ""} ${d.total === 1 && !d.totalCapped ? "message" : "messages"}${filtered ? " match this filter" : ""}`
      : "";
  const filtered = [...params.keys()].some((k) => !["kind", "sort", "order", "before", "limit"].includes(k) && params.get(k));
  const count = h("p.muted.count", { id: "count" }, countText(data));
  const nextParams = new URLSearchParams(params);
  if (data.next) nextParams.set("before", data.next);
  const list = h("div", { id: "list" }, listTable(data));
  render(
    h("h1", {}, title),
    form,
    count,
    list,
    h("p.muted.keys", {}, "Keys: j / k or ↓ / ↑ move, Enter opens, / searches."),
    data.next ? h("p", {}, link("/messages?" + nextParams.toString(), "Older →")) : null,
  );
  const keys = listKeys(list, search);
  // The first page follows the live stream; an older page stays as it is.
  if (!params.get("before")) {
    onLive({
      refresh: async () => {
        const d = await load();
        keys.keep(() => list.replaceChildren(listTable(d)));
        count.textContent = countText(d);
      },
    });
  }
}

// ---------- campaigns

async function campaigns() {
  const d = await api("/api/v1/campaigns");
  const cols = [
    ["campaign", (r) => link(`/campaigns/${r.id}`, r.template ?? r.subject ?? `#${r.id}`), { class: "wrap" }],
    ["messages", (r) => r.messages],
    ["sources", (r) => r.sources],
    ["joined by", (r) => joinedBy(r.keys)],
    ["recipients", (r) => r.recipients.map((x) => x.address).join(", "), { class: "wrap" }],
    ["first seen", (r) => fmtTime(r.firstSeen)],
    ["last seen", (r) => fmtTime(r.lastSeen)],
  ];
  render(
    h("h1", {}, "Campaigns"),
    h("p.muted", {}, `Spam of the last ${d.days} days grouped into runs: messages sharing a recipient (dropbox) set, a subject template or a body.`),
    table(cols, d.items),
  );
}

function joinedBy(k) {
  return [k.rcptSet > 1 ? `recipients ×${k.rcptSet}` : "", k.subjectTemplate > 1 ? `subject ×${k.subjectTemplate}` : "", k.body > 1 ? `body ×${k.body}` : ""].filter(Boolean).join(", ");
}

async function campaign(id) {
  const c = await api(`/api/v1/campaigns/${id}`);
  render(
    h("h1", {}, `Campaign ${c.template ?? "#" + c.id}`),
    kv([
      ["messages", c.messages],
      ["sources", c.sources],
      ["first seen", fmtTime(c.firstSeen)],
      ["last seen", fmtTime(c.lastSeen)],
      ["joined by", joinedBy(c.keys)],
      ["subject template", c.template ?? ""],
    ]),
    h(
      "div.grid2",
      {},
      h("div", {}, h("h2", {}, "Sources"), table([["source", (r) => link(`/sources/${encodeURIComponent(r.srcIp)}`, r.srcIp)], ["country / AS", (r) => geoTag(r.geo)], ["messages", (r) => r.messages]], c.srcIps)),
      h("div", {}, h("h2", {}, "Recipients"), table([["address", (r) => r.address, { class: "wrap" }], ["messages", (r) => r.messages]], c.recipients)),
    ),
    h("h2", {}, "Subjects"),
    h("ul", { id: "campaign-subjects" }, c.subjects.map((s) => h("li", {}, s))),
    h("h2", {}, "Messages"),
    table(
      [
        ["received", (r) => link(`/messages/${r.id}`, fmtTime(r.receivedAt))],
        ["source", (r) => link(`/sources/${encodeURIComponent(r.srcIp)}`, r.srcIp)],
        ["geo", (r) => geoTag(r.geo)],
        ["to", (r) => r.rcptTo.join(", "), { class: "wrap" }],
        ["subject", (r) => r.subject ?? "", { class: "wrap" }],
      ],
      c.items,
    ),
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
    ["time (UTC)", (r) => fmtTime(r.at), { class: "nowrap" }],
    ["source", (r) => link(`/sources/${encodeURIComponent(r.srcIp)}`, r.srcIp)],
    ["geo", (r) => geoTag(r.geo)],
    ["protocol", (r) => r.protocol],
    ["method", (r) => r.method],
    ["target", (r) => r.target, { class: "wrap" }],
    ["credentials", (r) => (r.username || r.password ? [r.username ?? "", r.password ? ` : ${r.password}` : ""].join("") : ""), { class: "wrap" }],
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
      ["source", admin ? link(`/sources/${encodeURIComponent(m.srcIp)}`, hostPort(m.srcIp, m.srcPort)) : m.srcIp],
      ["to sensor", `${hostPort(m.destIp, m.destPort)} (${m.channel ?? "direct"})`],
      ["HELO", m.helo],
      ["MAIL FROM", m.mailFrom ? addr(m.mailFrom) : "<>"],
      ["RCPT TO", addrList(m.rcptTo)],
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
        ["score", v.score ?? ""],
        ["tested IPs", (v.testedIps ?? []).join(", ")],
        ["matches sensor", v.matchesSensor === true ? "yes" : v.matchesSensor === false ? "no" : ""],
        ["dropboxes", v.dropboxes?.length ? [`${v.dropboxes.length}: `, addrList(v.dropboxes)] : ""],
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
      ["source", link(`/sources/${encodeURIComponent(s.srcIp)}`, hostPort(s.srcIp, s.srcPort))],
      ["to sensor", `${hostPort(s.destIp, s.destPort)} (${[s.protocol, s.channel].filter(Boolean).join(", ")})`],
      ["started", fmtTime(s.startedAt)],
      ["ended", [fmtTime(s.endedAt), s.closeReason ? `(${s.closeReason})` : ""].filter(Boolean).join(" ")],
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
      ["country", t.geo?.country ?? "unknown"],
      ["AS", t.geo && t.geo.asn !== null ? `AS${t.geo.asn} ${t.geo.asnName ?? ""}` : "unknown"],
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
  onLive({});
  let m;
  if (p === "/login") return loginPage();
  if (p === "/") return dashboard();
  if (p === "/messages") return messages();
  if ((m = /^\/messages\/(\d+)$/.exec(p))) return message(m[1]);
  if ((m = /^\/sessions\/(.+)$/.exec(p))) return session(decodeURIComponent(m[1]));
  if ((m = /^\/sources\/(.+)$/.exec(p))) return source(decodeURIComponent(m[1]));
  if (p === "/dropboxes") return dropboxes();
  if (p === "/campaigns") return campaigns();
  if ((m = /^\/campaigns\/(\d+)$/.exec(p))) return campaign(m[1]);
  if (p === "/deliveries") return deliveries();
  if (p === "/proxy") return proxyRequests();
  if (p === "/config") return configPage();
  render(h("h1", {}, "Not found"));
}

/** The header's menu button (narrow screens) and theme toggle; the theme chosen is kept in localStorage. */
function setupChrome() {
  const header = document.querySelector("header");
  const navToggle = document.getElementById("nav-toggle");
  navToggle?.addEventListener("click", () => {
    const open = header.classList.toggle("open");
    navToggle.setAttribute("aria-expanded", String(open));
  });
  const themeToggle = document.getElementById("theme-toggle");
  const dark = () => (document.documentElement.dataset.theme ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light")) === "dark";
  let saved = null;
  try {
    saved = localStorage.getItem("relaytrap-theme");
  } catch {}
  if (saved === "dark" || saved === "light") document.documentElement.dataset.theme = saved;
  const label = () => {
    if (themeToggle) themeToggle.textContent = dark() ? "Light" : "Dark";
  };
  label();
  themeToggle?.addEventListener("click", () => {
    const next = dark() ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem("relaytrap-theme", next);
    } catch {}
    label();
    // Charts are drawn on canvas with the theme's colours: draw them again.
    if (live.refresh) void runRefresh();
  });
}

async function start() {
  setupChrome();
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
  if (location.pathname !== "/login") startLive();
  await route();
  document.body.dataset.ready = "1";
}

start().catch((err) => {
  showError(err);
  document.body.dataset.ready = "error";
});
