// Proxy judges: recognising a judge request and synthesizing the page a judge (azenv.php) returns, as it would look
// through an anonymous open proxy: REMOTE_ADDR is the proxy's (our) address, no X-Forwarded-For, HTTP_* headers.
import { escapeHtml, httpDate } from "./squid.js";

/** Paths of well-known judge scripts and checker endpoints. */
const JUDGE_PATH = /(?:azenv|judge|prxjdg|proxyjudge|proxy_judge|proxycheck|proxy-check|proxy_check|checkproxy|anonymity|env)\.(?:php|cgi|pl|aspx?)|\/proxy-check(?:[/?#]|$)|\/judge(?:[/?#]|$)/i;

/** True when the request is a proxy test: a judge-like path, or our own address anywhere in the URL. */
export function isJudgeRequest(host: string | null, path: string, sensorIps: readonly string[]): boolean {
  if (JUDGE_PATH.test(path)) return true;
  const url = `${host ?? ""}${path}`;
  return sensorIps.some((ip) => ip !== "" && url.includes(ip));
}

/** Headers a proxy consumes and does not forward (hop-by-hop, RFC 9110 7.6.1, plus proxy credentials). */
const NOT_FORWARDED = new Set(["proxy-authorization", "proxy-connection", "connection", "keep-alive", "te", "trailer", "upgrade"]);

export interface JudgeRequest {
  method: string;
  /** Path and query, as the judge's REQUEST_URI. */
  path: string;
  headers: Array<[string, string]>;
  /** The address the judge sees: our (the proxy's) address. */
  remoteAddr: string;
  remotePort: number;
  /** Via we add when the request came through our HTTP proxy; null in a raw tunnel. */
  via: string | null;
  now: number;
}

/** HTTP_* variables as PHP builds them from the forwarded request headers. */
export function judgeVariables(r: JudgeRequest): Array<[string, string]> {
  const vars: Array<[string, string]> = [
    ["REMOTE_ADDR", r.remoteAddr],
    ["REMOTE_PORT", String(r.remotePort)],
    ["REQUEST_METHOD", r.method],
    ["REQUEST_URI", r.path],
    ["REQUEST_TIME_FLOAT", (r.now / 1000).toFixed(6)],
    ["REQUEST_TIME", String(Math.floor(r.now / 1000))],
  ];
  const seen = new Set<string>();
  for (const [k, v] of r.headers) {
    const lower = k.toLowerCase();
    if (NOT_FORWARDED.has(lower) || lower === "x-forwarded-for" || lower === "forwarded" || lower === "via") continue;
    const name = "HTTP_" + k.toUpperCase().replace(/-/g, "_");
    if (seen.has(name)) continue;
    seen.add(name);
    vars.push([name, v]);
  }
  if (r.via) vars.push(["HTTP_VIA", r.via], ["HTTP_CACHE_CONTROL", "max-age=259200"]);
  if (r.via && !seen.has("HTTP_CONNECTION")) vars.push(["HTTP_CONNECTION", "keep-alive"]);
  return vars;
}

/** The judge page (azenv.php format) and the origin's response headers. */
export function renderJudgePage(r: JudgeRequest): { headers: Array<[string, string]>; body: string } {
  const lines = judgeVariables(r).map(([k, v]) => `${k} = ${escapeHtml(v)}`);
  const body = `<html>\n<head>\n<title>AZ Environment variables 1.04</title>\n</head>\n<body>\n<pre>\n${lines.join("\n")}\n</pre>\n</body>\n</html>\n`;
  return {
    headers: [
      ["Date", httpDate(r.now)],
      ["Server", "Apache/2.4.57 (Debian)"],
      ["Vary", "Accept-Encoding"],
      ["Content-Length", String(Buffer.byteLength(body))],
      ["Content-Type", "text/html; charset=UTF-8"],
    ],
    body,
  };
}

/** A web server's 404, for plain HTTP in a granted tunnel to a non-judge target. */
export function renderOrigin404(now: number): { headers: Array<[string, string]>; body: string } {
  const body = `<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  return {
    headers: [
      ["Server", "nginx"],
      ["Date", httpDate(now)],
      ["Content-Type", "text/html"],
      ["Content-Length", String(Buffer.byteLength(body))],
    ],
    body,
  };
}
