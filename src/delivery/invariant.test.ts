// Invariant 1, checked on the source tree: the only code that can open an outbound TCP/TLS connection (and so an
// outbound SMTP connection) is src/net/outbound.ts, and nodemailer is used only by src/delivery/transport.ts, which
// hands it sockets from outbound.ts. A new outbound path fails this test and must go through the allow-list instead.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";

const SRC = fileURLToPath(new URL("../../../src/", import.meta.url));

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const RULES: Array<{ what: string; pattern: RegExp; allowed: string[] }> = [
  // reports/arf.ts only composes MIME (MailComposer) and never sends. nodemailer/lib/addressparser is a pure parser
  // (web/redact.ts parses addresses with it) and may be imported anywhere; every other nodemailer path is held here.
  {
    what: "nodemailer",
    pattern: /from\s+["']nodemailer(?!\/lib\/addressparser["'])|import\(\s*["']nodemailer(?!\/lib\/addressparser["'])/,
    allowed: ["delivery/transport.ts", "reports/arf.ts"],
  },
  {
    what: "an outbound socket (net/tls connect, createConnection, Socket#connect)",
    pattern:
      /import\s*{[^}]*\b(connect|createConnection)\b[^}]*}\s*from\s*["']node:(net|tls)["']|\b(net|tls)\.(connect|createConnection)\s*\(|new\s+(net\.)?Socket\s*\([^)]*\)\s*\.connect|import\(\s*["']node:(net|tls)["']\s*\)/,
    // web/demo.ts dials only its own loopback listener (the demo feeds the sensor itself); reviewed, not outbound.
    allowed: ["net/outbound.ts", "web/demo.ts"],
  },
  {
    // HTTP clients too: the collector push and RDAP lookups go through outboundFetch in net/outbound.ts.
    what: "an HTTP client (fetch, http/https request or get, undici)",
    pattern: /(^|[^\w.])fetch\s*\(|import\s*{[^}]*\b(request|get)\b[^}]*}\s*from\s*["']node:https?["']|\bhttps?\.(request|get)\s*\(|from\s*["']undici["']/m,
    allowed: ["net/outbound.ts"],
  },
];

it("only net/outbound.ts opens outbound connections or makes HTTP requests; only delivery/transport.ts uses nodemailer", () => {
  const offenders: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file).split("\\").join("/");
    const text = readFileSync(file, "utf8");
    for (const rule of RULES) if (rule.pattern.test(text) && !rule.allowed.includes(rel)) offenders.push(`${rel}: ${rule.what}`);
  }
  assert.deepEqual(offenders, []);
});
