// The Squid persona as data and templates: the headers a Debian Squid 5.7 adds, its CONNECT reply and its error
// pages (the ERR_* template format of /usr/share/squid/errors).

export const SQUID_VERSION = "squid/5.7";

export const CONNECT_ESTABLISHED = "HTTP/1.1 200 Connection established\r\n\r\n";

export type SquidError = "ERR_CONNECT_FAIL" | "ERR_INVALID_URL" | "ERR_INVALID_REQ" | "ERR_TOO_BIG" | "ERR_UNSUP_REQ";

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  413: "Payload Too Large",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function httpDate(now: number): string {
  return new Date(now).toUTCString();
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Via as Squid writes it (via on): protocol version, visible_hostname, version. */
export function squidVia(host: string): string {
  return `1.1 ${host} (${SQUID_VERSION})`;
}

/** The headers Squid adds to every response it forwards or generates. */
export function squidResponseHeaders(host: string, port: number, hit: "MISS" | "NONE"): Array<[string, string]> {
  return [
    ["X-Cache", `${hit} from ${host}`],
    ["X-Cache-Lookup", `${hit} from ${host}:${port}`],
    ["Via", squidVia(host)],
  ];
}

export function renderResponse(status: number, headers: Array<[string, string]>, body: string, head = false): Buffer {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(lines.join("\r\n") + "\r\n\r\n" + (head ? "" : body), "utf8");
}

const TITLES: Record<SquidError, { status: number; brief: string; detail: string }> = {
  ERR_CONNECT_FAIL: { status: 503, brief: "Connection to %I failed.", detail: "The remote host or network may be down. Please try the request again." },
  ERR_INVALID_URL: { status: 400, brief: "Invalid URL", detail: "Some aspect of the requested URL is incorrect." },
  ERR_INVALID_REQ: { status: 400, brief: "Invalid Request", detail: "Some aspect of the HTTP Request is invalid." },
  ERR_TOO_BIG: { status: 413, brief: "The request or reply is too large.", detail: "If you are making a POST or PUT request, then the item you are trying to upload is too large." },
  ERR_UNSUP_REQ: { status: 501, brief: "Unsupported Request Method and Protocol", detail: "Squid does not support all request methods for all access protocols." },
};

/** A condensed version of the stylesheet Squid inlines (%l) into every error page. */
const STYLE = `/*
 Stylesheet for Squid Error pages
 Adapted from design by Free CSS Templates
 http://www.freecsstemplates.org
 Released for free under a Creative Commons Attribution 2.5 License
*/

/* Page basics */
* {
	font-family: verdana, sans-serif;
}

html body {
	margin: 0;
	padding: 0;
	background: #efefef;
	font-size: 12px;
	color: #1e1e1e;
}

/* Page displayed title area */
#titles {
	margin-left: 15px;
	padding: 10px;
	padding-left: 100px;
	background: url('/squid-internal-static/icons/SN.png') no-repeat left;
}

/* initial title */
#titles h1 {
	color: #000000;
}
#titles h2 {
	color: #000000;
}

/* Page displayed body content area */
#content {
	padding: 10px;
	background: #ffffff;
}

/* horizontal lines */
hr {
	margin: 0;
}

/* page displayed footer area */
#footer {
	font-size: 9px;
	padding-left: 10px;
}
`;

export interface SquidErrorPage {
  error: SquidError;
  /** Overrides the template's status (504 for a connect timeout). */
  status?: number;
  url: string;
  /** Host or address the brief names (%I). */
  target: string;
  /** errno text for %E, e.g. "(111) Connection refused". */
  sysmsg?: string;
  hostname: string;
  port: number;
  now: number;
  /** HEAD: headers only. */
  head?: boolean;
  keepAlive: boolean;
}

export function renderSquidError(p: SquidErrorPage): Buffer {
  const t = TITLES[p.error];
  const status = p.status ?? t.status;
  const date = httpDate(p.now);
  const sys = p.sysmsg ? `\n<p id="sysmsg">The system returned: <i>${escapeHtml(p.sysmsg)}</i></p>\n` : "";
  const body = `<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
<html><head>
<meta type="copyright" content="Copyright (C) 1996-2022 The Squid Software Foundation and contributors">
<meta http-equiv="Content-Type" CONTENT="text/html; charset=utf-8">
<title>ERROR: The requested URL could not be retrieved</title>
<style type="text/css"><!-- 
 ${STYLE}
body
:lang(fa) { direction: rtl; font-size: 100%; font-family: Tahoma, Roya, sans-serif; float: right; }
:lang(he) { direction: rtl; }
 --></style>
</head><body id=${p.error}>
<div id="titles">
<h1>ERROR</h1>
<h2>The requested URL could not be retrieved</h2>
</div>
<hr>

<div id="content">
<p>The following error was encountered while trying to retrieve the URL: <a href="${escapeHtml(p.url)}">${escapeHtml(p.url)}</a></p>

<blockquote id="error">
<p><b>${escapeHtml(t.brief.replace("%I", p.target))}</b></p>
</blockquote>
${sys}
<p>${t.detail}</p>

<p>Your cache administrator is <a href="mailto:webmaster?subject=CacheErrorInfo%20-%20${p.error}">webmaster</a>.</p>
<br>
</div>

<hr>
<div id="footer">
<p>Generated ${date} by ${escapeHtml(p.hostname)} (${SQUID_VERSION})</p>
<!-- ${p.error} -->
</div>
</body></html>
`;
  const headers: Array<[string, string]> = [
    ["Server", SQUID_VERSION],
    ["Mime-Version", "1.0"],
    ["Date", date],
    ["Content-Type", "text/html;charset=utf-8"],
    ["Content-Length", String(Buffer.byteLength(body))],
    ["X-Squid-Error", `${p.error} ${p.sysmsg ? (/\((\d+)\)/.exec(p.sysmsg)?.[1] ?? "0") : "0"}`],
    ["Vary", "Accept-Language"],
    ["Content-Language", "en"],
    ...squidResponseHeaders(p.hostname, p.port, "NONE"),
    ["Connection", p.keepAlive ? "keep-alive" : "close"],
  ];
  return renderResponse(status, headers, body, p.head);
}
