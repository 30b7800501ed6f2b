#!/usr/bin/env node
// Writes the relay-test half of the labelled corpus (test/fixtures/corpus/pos-<style>-<n>.eml + .json, issue 15).
// Deterministic: run it again after a change here and commit the output. Documentation IPs and example domains only;
// each sidecar's provenance names the published sample it follows or the pattern it imitates. The hard negatives
// (neg-*) are written by hand elsewhere and never touched here.
//
//   node scripts/make-corpus-positives.mjs
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DIR = fileURLToPath(new URL("../test/fixtures/corpus/", import.meta.url));
const SENSOR = "198.51.100.23";

// ---- encodings (what the tester writes; the analyzer decodes them with its own decoders) ----------------------------
const decimalAscii = (s) => [...Buffer.from(s, "latin1")].map((b) => String(b).padStart(3, "0")).join("");
const hexAscii = (s) => Buffer.from(s, "latin1").toString("hex");
const b64 = (s) => Buffer.from(s, "latin1").toString("base64");
const int = (ip) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
const hex8 = (ip) => int(ip).toString(16).padStart(8, "0");
const rev = (ip) => ip.split(".").reverse().join(".");
const dashed = (ip) => ip.replaceAll(".", "-");
const wrap = (s, n) => s.match(new RegExp(`.{1,${n}}`, "g")).join("\n");
const qp = (s) => s.replace(/=/g, "=3D");
const encWord = (charset, bytes) => `=?${charset}?B?${Buffer.from(bytes).toString("base64")}?=`;

let seq = 0;
function date(i) {
  const d = new Date(Date.UTC(2024, 0, 1, 3, 17, 21) + i * 7_919_000);
  return d.toUTCString().replace("GMT", "+0000");
}

/**
 * One message: headers (without Date/Message-ID unless given), body, envelope, labels.
 * `o.rcpt` defaults to the dropboxes; `o.sensorIp` to SENSOR.
 */
function msg(style, o) {
  const i = seq++;
  const h = [...o.headers];
  if (!h.some((x) => /^date:/i.test(x))) h.push(`Date: ${date(i)}`);
  if (!h.some((x) => /^message-id:/i.test(x)) && !o.noMessageId) h.push(`Message-ID: <${(0x5f3a91 + i * 7919).toString(16)}.${i}@${o.msgIdHost ?? "mail.example.com"}>`);
  const raw = `${h.join("\r\n")}\r\n\r\n${o.body.replace(/\r?\n/g, "\r\n")}`;
  const sidecar = {
    label: "relay-test",
    style,
    envelope: { clientIp: o.clientIp ?? `203.0.113.${40 + (i % 60)}`, helo: o.helo ?? "User", mailFrom: o.mailFrom ?? "", rcptTo: o.rcpt ?? o.dropboxes },
    sensorIp: o.sensorIp ?? SENSOR,
    testedIps: o.tested ?? [o.sensorIp ?? SENSOR],
    dropboxes: o.dropboxes,
    provenance: o.provenance,
  };
  return { style, raw, sidecar };
}

const out = [];
const add = (m) => out.push(m);
const IPS = [SENSOR, "203.0.113.10", "192.0.2.77"];

// 1. The 2013 seed: "<ip>@pauletteOpen Relay", 21 dropboxes, malformed Date month.
const yahoo = ["therichsheickc", "therichsheick1", "therichsheick9", "therichsheick2", "therichsheick0", "therichsheickb", "therichsheick7"];
for (const [k, ip] of IPS.entries()) {
  const boxes = yahoo.slice(0, 3 + k * 2).map((u) => `${u}@example.com`);
  add(msg("seed-2013-glued-subject", {
    headers: ["From: <test@live.example>", `Date: Sun, ${k + 1} Dez 2013 12:17:21 +0000`, `Subject: ${ip}@pauletteOpen Relay`],
    body: "It's 106 miles to Chicago, we got a full tank of gas, half a pack of cigarettes, it's dark... and we're wearing sunglasses.\n",
    mailFrom: "test@live.example", dropboxes: boxes, sensorIp: ip,
    provenance: "seed 000_87864275382558aa: the relay attempt quoted in the 2013 article on open-relay honeypots (Subject 'ip.ad.ddr.ess@pauletteOpen Relay', 21 yahoo.com RCPTs, 'Dez' Date); IP and mailboxes replaced by documentation ones",
  }));
}

// 2. The 2003 seed: decimal-ASCII triplets of "ip:rdns:port:n:" in body and Message-ID.
for (const [k, ip] of IPS.entries()) {
  const payload = `${ip}:host-${dashed(ip)}.dsl.example.net:355:${k + 2}:`;
  add(msg("seed-2003-decimal-ascii", {
    headers: [
      `Message-Id: <${decimalAscii(ip)}@mail.example.fr>`, "Date: Mon, 07 Apr 2003 21:31:14 -1700", "From: ungratefull2003@example.fr", "Subject: hello",
      "To: mikebsmith@example.co.uk", "MIME-Version: 1.0", 'Content-Type: text/plain; charset="Windows-1252"', "Content-Transfer-Encoding: 7bit",
      "X-Mailer: Microsoft Outlook Express 5.00.3018.1300",
    ],
    body: `\n${wrap(decimalAscii(payload), 97)}\n`,
    mailFrom: "ungratefull2003@example.fr", dropboxes: ["mikebsmith@example.co.uk"], sensorIp: ip,
    provenance: "seed 002_1e7178cc80b15b06: ASRG post 2003-04-08 'Re: [Asrg] Whitelisting on Message-ID' quoting a trapped test (decimal ASCII 'ip:rdns:355:2:' in body and Message-ID); IP, names documentation ones",
  }));
}

// 3. Plain IP alone in the subject (empty-ish body).
for (const [k, ip] of IPS.entries()) {
  add(msg("subject-plain-ip", {
    headers: [`From: check${k}@example.net`, `To: box${k}@example.org`, `Subject: ${[ip, `${ip}:25`, `[${ip}]`][k]}`],
    body: ["", "ok", "."][k] + "\n", mailFrom: `check${k}@example.net`, dropboxes: [`box${k}@example.org`], sensorIp: ip,
    provenance: "imitates relay scanners putting the tested IP in the subject (article 2013: 'They typically put the IP address of the mailserver they connected to in the subject line')",
  }));
}

// 4. Plain IP (and ip:port) alone in a short body.
for (const [k, ip] of IPS.entries()) {
  add(msg("body-plain-ip", {
    headers: [`From: "Mailer" <mailer${k}@example.com>`, `To: <rcv.${k}@example.net>`, "Subject: " + ["", "hi", "x"][k]],
    body: [`${ip}\n`, `${ip}:25\n`, `relay ${ip} port 25 ok\n`][k], mailFrom: `mailer${k}@example.com`, dropboxes: [`rcv.${k}@example.net`], sensorIp: ip,
    provenance: "imitates relay tests whose whole body is the tested ip[:port]",
  }));
}

// 5. Decimal ASCII in the body (other payload shapes than the seed).
for (const [k, ip] of IPS.entries()) {
  const payload = [`${ip}:25`, `${ip}`, `OK ${ip}:25:${1000 + k}`][k];
  add(msg("decimal-ascii", {
    headers: [`From: u${k}@example.org`, `To: dropbox${k}@example.com`, `Subject: ${["", "hello", "hi"][k]}`],
    body: `${wrap(decimalAscii(payload), [80, 33, 61][k])}\n`, mailFrom: `u${k}@example.org`, dropboxes: [`dropbox${k}@example.com`], sensorIp: ip,
    provenance: "imitates the decimal-ASCII relay tests described in the 2003 ASRG post (seed 002), other payload shapes and wrap widths",
  }));
}

// 6. Hex ASCII (body, X- header, subject).
for (const [k, ip] of IPS.entries()) {
  const h = hexAscii(`${ip}:25`);
  const headers = [`From: r${k}@example.net`, `To: x${k}@example.org`];
  let body = "hello\n";
  if (k === 0) body = `${h}\n`;
  if (k === 1) headers.push(`X-Id: ${h.toUpperCase()}`);
  headers.push(`Subject: ${k === 2 ? h : "test"}`);
  add(msg("hex-ascii", {
    headers, body, mailFrom: `r${k}@example.net`, dropboxes: [`x${k}@example.org`], sensorIp: ip,
    provenance: "imitates relay tests carrying the tested ip:port as hex-encoded ASCII (body, X- header, subject)",
  }));
}

// 7. Base64 of ip:port, glued after a token, in body / header / Message-ID.
for (const [k, ip] of IPS.entries()) {
  const token = ["Zm9vYmFy", "", "QUJD"][k];
  const enc = token + b64(`${ip}:${[25, 587, 2525][k]}`);
  const headers = [`From: z${k}@example.com`, `To: y${k}@example.net`, "Subject: " + ["news", "update", "info"][k]];
  if (k === 1) headers.push(`X-Track: ${enc}`);
  add(msg("base64-ip-port", {
    headers, body: k === 1 ? "see you\n" : `${enc}\n`, mailFrom: `z${k}@example.com`, dropboxes: [`y${k}@example.net`], sensorIp: ip,
    provenance: "imitates ratware that base64-encodes the tested ip:port after a random token",
  }));
}

// 8. 1<hex>:port (subject, body, local part).
for (const [k, ip] of IPS.entries()) {
  const hp = `1${hex8(ip)}:25`;
  add(msg("hex-port", {
    headers: [`From: s${k}@example.org`, `To: t${k}@example.com`, `Subject: ${k === 0 ? hp : k === 1 ? "ok" : `${hp.toUpperCase()}`}`],
    body: k === 1 ? `${hp}\n` : "\n", mailFrom: `s${k}@example.org`, dropboxes: [`t${k}@example.com`], sensorIp: ip,
    provenance: "imitates relay tests with '1' + 8 hex digits of the IP + ':port' (a ratware id format)",
  }));
}

// 9. Hex with a 0x prefix in the body (missed before issue 15).
for (const [k, ip] of IPS.entries()) {
  const x = `0x${hex8(ip)}`;
  const body = [`${x}\n`, `${x.toUpperCase().replace("0X", "0x")}:25\n`, `${ip.split(".").map((o) => `0x${Number(o).toString(16).padStart(2, "0")}`).join(".")}\n`][k];
  add(msg("hex-0x-body", {
    headers: [`From: h${k}@example.net`, `To: hx${k}@example.org`, "Subject: " + ["hi", "check", "."][k]],
    body, mailFrom: `h${k}@example.net`, dropboxes: [`hx${k}@example.org`], sensorIp: ip,
    provenance: "imitates tests carrying the IP as a 0x-prefixed hex integer (or hex octets) in the body",
  }));
}

// 10. Dotless integer in a URL query string (missed before issue 15).
for (const [k, ip] of IPS.entries()) {
  const url = [`http://stats.example.com/r.php?ip=${int(ip)}`, `https://c.example.net/t.gif?id=7&host=${int(ip)}&p=25`, `http://example.org/cb?h=${int(ip)}`][k];
  const html = k === 1;
  add(msg("dotless-url-query", {
    headers: [`From: n${k}@example.com`, `To: q${k}@example.net`, `Subject: ${["confirm", "hello", "news"][k]}`, ...(html ? ["MIME-Version: 1.0", "Content-Type: text/html; charset=us-ascii"] : [])],
    body: html ? `<html><body><p>hello</p><img src="${url}" width=1 height=1></body></html>\n` : `${url}\n`,
    mailFrom: `n${k}@example.com`, dropboxes: [`q${k}@example.net`], sensorIp: ip,
    provenance: "imitates tests that report the tested IP as a dotless integer in a callback URL's query string",
  }));
}

// 11. Reversed octets in DNSBL style in the body (missed before issue 15).
for (const [k, ip] of IPS.entries()) {
  const body = [`${rev(ip)}.in-addr.arpa\n`, `${rev(ip)}.relays.example.net\n`, `check ${rev(ip)}.list.example.org 25\n`][k];
  add(msg("reversed-dnsbl-body", {
    headers: [`From: d${k}@example.org`, `To: dn${k}@example.com`, `Subject: ${["t", "", "ok"][k]}`],
    body, mailFrom: `d${k}@example.org`, dropboxes: [`dn${k}@example.com`], sensorIp: ip,
    provenance: "imitates tests writing the tested IP reversed, as a DNSBL / in-addr.arpa query name",
  }));
}

// 12. Fully expanded IPv6 (missed before issue 15).
const V6 = ["2001:db8::25", "2001:db8:0:1::17", "2001:db8:aa::5"];
const expand = (v6) => {
  const [a, b] = v6.split("::");
  const ha = a ? a.split(":") : [];
  const hb = b ? b.split(":") : [];
  return [...ha, ...Array(8 - ha.length - hb.length).fill("0"), ...hb].map((g) => g.padStart(4, "0")).join(":");
};
for (const [k, v6] of V6.entries()) {
  const full = expand(v6);
  const place = k;
  add(msg("ipv6-expanded", {
    headers: [`From: six${k}@example.net`, `To: v6box${k}@example.org`, `Subject: ${place === 0 ? full : place === 1 ? `[${full.toUpperCase()}]` : "test"}`],
    body: place === 2 ? `${full}\n` : "\n", mailFrom: `six${k}@example.net`, dropboxes: [`v6box${k}@example.org`], sensorIp: v6, tested: [v6],
    provenance: "imitates relay tests against IPv6 listeners writing the tested address fully expanded (8 groups of 4 digits)",
  }));
}

// 13. RFC 2047 encoded-words in a legacy charset (GB2312), the IP split across several words (missed before issue 15).
const GB_TEST = Buffer.from([0xb2, 0xe2, 0xca, 0xd4]); // "测试" (test) in GB2312
for (const [k, ip] of IPS.entries()) {
  const parts = [Buffer.concat([GB_TEST, Buffer.from(" " + ip.slice(0, 6))]), Buffer.from(ip.slice(6))];
  const subject = k === 1 ? `${encWord("GB2312", parts[0])}\r\n ${encWord("gb2312", parts[1])}` : `${encWord("GB2312", parts[0])} ${encWord("GB2312", parts[1])}`;
  add(msg("rfc2047-gb2312-split", {
    headers: [`From: ${encWord("GB2312", Buffer.from([0xd0, 0xa1, 0xc3, 0xf7]))} <cn${k}@example.com>`, `To: cnbox${k}@example.net`, `Subject: ${subject}`,
      "MIME-Version: 1.0", "Content-Type: text/plain; charset=GB2312", "Content-Transfer-Encoding: base64"],
    body: `${Buffer.from(GB_TEST).toString("base64")}\n`, mailFrom: `cn${k}@example.com`, dropboxes: [`cnbox${k}@example.net`], sensorIp: ip,
    provenance: "imitates Chinese-language relay tests: GB2312 B-encoded subject with the IP split across encoded words",
  }));
}

// 14. The IP in a spam-info style X- header (missed before issue 15).
for (const [k, ip] of IPS.entries()) {
  const hdr = [`X-SpamInfo: ${ip}`, `X-Spam-Info: relay=${ip}:25`, `X-Info: ${ip}`][k];
  add(msg("x-header-ip", {
    headers: [`From: xh${k}@example.org`, `To: xbox${k}@example.com`, `Subject: ${["Hello", "Your order", "Re"][k]}`, hdr],
    body: ["Hi there\n", "Thanks.\n", "ok\n"][k], mailFrom: `xh${k}@example.org`, dropboxes: [`xbox${k}@example.com`], sensorIp: ip,
    provenance: "imitates ratware writing the tested IP into a spam-info style X- header",
  }));
}

// 15. The IP dashed into the recipient's local part (missed before issue 15).
for (const [k, ip] of IPS.entries()) {
  const box = [`relay-${dashed(ip)}-25@example.net`, `t_${ip.replaceAll(".", "_")}@example.org`, `${dashed(ip)}@example.com`][k];
  add(msg("dashed-local", {
    headers: [`From: dl${k}@example.com`, `To: ${box}`, "Subject: " + ["hello", "test", "hi"][k]],
    body: "hello\n", mailFrom: `dl${k}@example.com`, dropboxes: [box], sensorIp: ip,
    provenance: "imitates testers encoding the tested IP (dashed) into the dropbox's local part, e.g. relay-203-0-113-10-25@",
  }));
}

// 16. "MX check" tests that name only the target host: the IP is the one connected to (missed before issue 15).
for (const [k, host] of ["mx.trap.example", "mail.example.net", "smtp1.example.org"].entries()) {
  add(msg("mx-check-host", {
    headers: [`From: mx${k}@example.com`, `To: mxbox${k}@example.org`, `Subject: ${[`MX check ${host}`, `mx-test: ${host}`, "check"][k]}`],
    body: k === 2 ? `MX TEST ${host} OK\n` : "\n", mailFrom: `mx${k}@example.com`, dropboxes: [`mxbox${k}@example.org`], tested: [],
    provenance: "imitates 'MX check' relay tests that name only the target host (the tested IP is implicit: the one connected to)",
  }));
}

// 17. AUTH-cracker reports: working SMTP credentials sent to the cracker's dropbox (missed before issue 15).
const creds = [
  (ip) => ({ subject: "good", body: `${ip}:25:admin:123456\n` }),
  (ip) => ({ subject: ip, body: `host: ${ip}\nport: 587\nuser: info@example.com\npass: Passw0rd\n` }),
  (ip) => ({ subject: encWord("UTF-8", Buffer.from(`SMTP ${ip}`)), body: `SMTP server: ${ip}\nPort: 465\nLogin: webmaster\nPassword: qwerty\n` }),
  (ip) => ({ subject: "=?utf-8?Q?r=C3=A9sultat?=", body: `${ip}|25|sales|sales2024\n` }),
];
for (const [k, f] of creds.entries()) {
  const ip = [SENSOR, "203.0.113.10", "192.0.2.77", SENSOR][k];
  const { subject, body } = f(ip);
  const nat = k === 3;
  add(msg("auth-cracker-report", {
    headers: [`From: cr${k}@example.net`, `To: crbox${k}@example.com`, `Subject: ${subject}`, "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"],
    body, mailFrom: `cr${k}@example.net`, dropboxes: [`crbox${k}@example.com`], sensorIp: ip,
    provenance: nat
      ? "imitates an SMTP AUTH cracker's credential report from a sensor behind NAT (the report names the public address, configured as sensorIps)"
      : "imitates SMTP AUTH brute-forcers reporting working credentials (host, port, user, password) to their dropbox",
  }));
}

// 18. The trailing-@ envelope trick (missed before issue 15).
for (const [k, ip] of IPS.entries()) {
  const box = [`relaytest@example.org`, `spam.check@example.net`, `box${k}@example.com`][k];
  add(msg("envelope-trailing-at", {
    headers: [`From: ta${k}@example.com`, `To: ${box}`, `Subject: ${[ip, "hello", "test"][k]}`],
    body: "test\n", mailFrom: `ta${k}@example.com`, rcpt: [k === 2 ? `<${box}@>` : `${box}@`], dropboxes: [box], sensorIp: ip, tested: k === 0 ? [ip] : [],
    provenance: "imitates the trailing-@ envelope trick (RCPT TO:<relaytest@domain@>), which some parsers relay to the inner address",
  }));
}

// 19. Public relay checkers (missed before issue 15 when recognised by the domain only or not at all).
const checkers = [
  { name: "mailradar", from: "antispam@mailradar.com", rcpt: "relaytest@mailradar.com", helo: "mailradar.com", prov: "published mailradar.com test transcript, https://pastebin.com/M46G4R6L (HELO mailradar.com, MAIL FROM antispam@, RCPT relaytest@mailradar.com)" },
  { name: "mailradar", from: "antispam@mailradar.com", rcpt: '"relaytest@mailradar.com"', helo: "mailradar.com", prov: "mailradar.com test transcript (method with a quoted recipient), https://pastebin.com/M46G4R6L" },
  { name: "appriver", from: "relaytest@appriver.com", rcpt: "relaytest@appriver.com", helo: "appriver.com", prov: "imitates AppRiver's SMTP Open Relay tool, https://support.appriver.com/kb/a957/tools-smtp-open-relay.aspx" },
  { name: "appriver", from: "spamtest@appriver.com", rcpt: "spamtest@appriver.com", helo: "appriver.com", prov: "imitates AppRiver's SMTP Open Relay tool (spamtest recipient)" },
  { name: "mxtoolbox", from: "supertool@mxtoolbox.com", rcpt: "test@mxtoolboxsmtpdiag.com", helo: "keeper-us-east-1b.mxtoolbox.com", prov: "imitates MxToolbox SMTP diagnostics, https://mxtoolbox.com/problem/smtp/smtp-open-relay" },
  { name: "maps", from: "nobody@mail-abuse.org", rcpt: "relaytest@mail-abuse.org", helo: "rss.mail-abuse.org", prov: "imitates the MAPS RSS relay tester (relaytest@ at the checker's own domain)" },
];
for (const [k, c] of checkers.entries()) {
  const box = c.rcpt.replaceAll('"', "");
  add(msg("public-checker", {
    headers: [`From: <${c.from}>`, `To: <${box}>`, `Subject: ${["Relay test", "", "SMTP relay test", "open relay test", "MxToolbox test", "relay test"][k]}`],
    body: "This is a relay test.\n", mailFrom: c.from, rcpt: [c.rcpt], helo: c.helo, dropboxes: [box], tested: [],
    provenance: c.prov,
  }));
}

// 20-23. Envelope tricks: %-hack, quoted local part, bang path, address literal.
for (const [k, ip] of IPS.entries()) {
  const box = `pct${k}@example.net`;
  add(msg("envelope-percent-hack", {
    headers: [`From: ph${k}@example.com`, `To: ${box}`, "Subject: hi"], body: "hi\n", mailFrom: `ph${k}@example.com`,
    rcpt: [[`<pct${k}%example.net@[${ip}]>`, `pct${k}%example.net@${ip}`, `<pct${k}%example.net@[${ip}]>`][k]], dropboxes: [box], sensorIp: ip,
    provenance: "relaytest(1) (DSBL) domain-specific tests: RCPT TO:<user%dest@[ip]>, https://www.unix.com/61393-post13.html",
  }));
  add(msg("envelope-quoted", {
    headers: [`From: qt${k}@example.com`, `To: qbox${k}@example.org`, "Subject: hi"], body: "hi\n", mailFrom: `qt${k}@example.com`,
    rcpt: [`<"qbox${k}@example.org"@[${ip}]>`], dropboxes: [`qbox${k}@example.org`], sensorIp: ip,
    provenance: "relaytest(1) (DSBL): RCPT TO:<\"listme@dsbl.org\"@[ip]> form, https://www.unix.com/61393-post13.html",
  }));
  add(msg("envelope-bang", {
    headers: [`From: bg${k}@example.com`, `To: bbox${k}@example.net`, "Subject: hi"], body: "hi\n", mailFrom: `bg${k}@example.com`,
    rcpt: [`<example.net!bbox${k}@[${ip}]>`], dropboxes: [`bbox${k}@example.net`], sensorIp: ip,
    provenance: "relaytest(1) (DSBL): RCPT TO:<dsbl.org!listme@[ip]> bang-path form, https://www.unix.com/61393-post13.html",
  }));
  add(msg("envelope-literal", {
    headers: [`From: lt${k}@example.com`, `To: relaytest${k}@[${ip}]`, "Subject: hello"], body: "hello\n", mailFrom: `lt${k}@example.com`,
    rcpt: [`<relaytest${k}@[${ip}]>`], dropboxes: [`relaytest${k}@[${ip}]`], sensorIp: ip,
    provenance: "relaytest(1) (DSBL): recipient at the address literal [<ip address>], https://www.unix.com/61393-post13.html",
  }));
}

// 24. DSBL LISTME cookie.
for (const [k, ip] of IPS.entries()) {
  add(msg("dsbl-listme", {
    headers: [`From: sender@example.com`, "To: listme@dsbl.org", `Subject: DSBL LISTME: smtp ${ip}`],
    body: `DSBL LISTME: smtp ${ip} [25] ${(0x3a9f1c + k).toString(16)}${(k * 7919).toString(36)}\nDSBL END\n`,
    mailFrom: "sender@example.com", rcpt: [["<listme@dsbl.org>", "<\"listme@dsbl.org\">", `<dsbl.org!listme@[${ip}]>`][k]], dropboxes: ["listme@dsbl.org"], sensorIp: ip,
    provenance: "relaytest(1)/dsbl-conf: test mail to listme@dsbl.org carrying a 'DSBL LISTME: smtp <ip>' cookie, https://www.unix.com/61393-post13.html",
  }));
}

// 25. nmap smtp-open-relay.
for (const [k, ip] of IPS.entries()) {
  add(msg("nmap-open-relay", {
    headers: ["From: antispam@nmap.scanme.org", "To: relaytest@nmap.scanme.org", "Subject: "],
    body: "\n", mailFrom: ["antispam@nmap.scanme.org", "", `antispam@[${ip}]`][k], rcpt: [["<relaytest@nmap.scanme.org>", "<relaytest%nmap.scanme.org@[" + ip + "]>", "<\"relaytest@nmap.scanme.org\">"][k]],
    helo: "nmap.scanme.org", dropboxes: ["relaytest@nmap.scanme.org"], sensorIp: ip, tested: k === 0 ? [] : [ip],
    provenance: "nmap smtp-open-relay.nse defaults (to=relaytest, domain=nmap.scanme.org, from antispam@), https://nmap.org/nsedoc/scripts/smtp-open-relay.html",
  }));
}

// 26. swaks default message.
for (const [k, ip] of IPS.entries()) {
  add(msg("swaks-default", {
    headers: [`Date: ${date(200 + k)}`, `To: sw${k}@example.org`, `From: tester${k}@example.com`, `Subject: test ${date(200 + k)}`, `Message-Id: <20240102${k}.${4711 + k}@client.example>`, "X-Mailer: swaks v20240103.0 jetmore.org/john/code/swaks/"],
    body: "This is a test mailing\n\n", noMessageId: true, mailFrom: `tester${k}@example.com`, dropboxes: [`sw${k}@example.org`], sensorIp: ip, tested: [],
    provenance: "swaks default message (Subject 'test <date>', body 'This is a test mailing', X-Mailer swaks), swaks(1) manual, https://manpages.ubuntu.com/manpages/noble/man1/swaks.1.html",
  }));
}

// 27. Tests through the proxy trap: an open-proxy checker's mail arrives diverted to the SMTP trap.
for (const [k, ip] of IPS.entries()) {
  const port = [3128, 8080, 1080][k];
  const proto = ["HTTP", "HTTP CONNECT", "SOCKS5"][k];
  add(msg("proxy-trap", {
    headers: [`From: pc${k}@example.net`, `To: proxybox${k}@example.com`, `Subject: ${[`${ip}:${port}`, `proxy ${ip}:${port}`, `${ip}:${port}`][k]}`, ...(k === 2 ? [`X-Proxy-Check: ${proto} ${ip}:${port}`] : [])],
    body: [`${ip}:${port}\n`, `${proto} ${ip}:${port} OK\n`, `${b64(`${ip}:${port}`)}\n`][k], mailFrom: `pc${k}@example.net`, dropboxes: [`proxybox${k}@example.com`], sensorIp: ip,
    clientIp: ip === SENSOR ? "127.0.0.1" : `192.0.2.${200 + k}`,
    provenance: "imitates open-proxy checkers mailing the proxy's ip:port to their dropbox through the proxy (diverted by relaytrap's proxy trap)",
  }));
}

// 28. Quoted-printable short body with ip:port.
for (const [k, ip] of IPS.entries()) {
  add(msg("qp-body", {
    headers: [`From: qp${k}@example.com`, `To: qpbox${k}@example.net`, "Subject: hello", "MIME-Version: 1.0", "Content-Type: text/plain; charset=iso-8859-1", "Content-Transfer-Encoding: quoted-printable"],
    body: [`${qp(ip.slice(0, 8))}=\n${ip.slice(8)}:25\n`, `=3D=3D ${ip}:25 =3D=3D\n`, `${ip.replaceAll(".", "=2E")}=\n:25\n`][k], mailFrom: `qp${k}@example.com`, dropboxes: [`qpbox${k}@example.net`], sensorIp: ip,
    provenance: "imitates tests whose short body is quoted-printable with a soft line break inside ip:port",
  }));
}

// 29. RFC 2047 UTF-8 / ISO-8859-1 encoded subject.
for (const [k, ip] of IPS.entries()) {
  const s = [`=?UTF-8?B?${b64(ip)}?=`, `=?ISO-8859-1?Q?${ip.replaceAll(".", "=2E")}?=`, `=?utf-8?b?${b64("relay ")}?= =?utf-8?b?${b64(ip)}?=`][k];
  add(msg("rfc2047-subject", {
    headers: [`From: e${k}@example.org`, `To: ebox${k}@example.com`, `Subject: ${s}`], body: "\n", mailFrom: `e${k}@example.org`, dropboxes: [`ebox${k}@example.com`], sensorIp: ip,
    provenance: "imitates tests encoding the subject IP as RFC 2047 encoded-words",
  }));
}

// 30. IP in the From / MAIL FROM local part.
for (const [k, ip] of IPS.entries()) {
  const local = [`relay.${ip}`, `${ip}`, `open-relay-${ip}`][k];
  add(msg("from-local-ip", {
    headers: [`From: "${local}" <${local}@example.com>`, `To: fl${k}@example.net`, "Subject: hi"], body: "hi\n", mailFrom: `${local}@example.com`, dropboxes: [`fl${k}@example.net`], sensorIp: ip,
    provenance: "imitates testers writing the tested IP into the sender's local part",
  }));
}

// 31. HTML-only short body with the IP.
for (const [k, ip] of IPS.entries()) {
  add(msg("html-body-ip", {
    headers: [`From: hb${k}@example.com`, `To: hbox${k}@example.org`, "Subject: " + ["x", "hello", ""][k], "MIME-Version: 1.0", "Content-Type: text/html; charset=us-ascii"],
    body: `<html><body><b>${ip}</b>${k === 1 ? ":25" : ""}</body></html>\n`, mailFrom: `hb${k}@example.com`, dropboxes: [`hbox${k}@example.org`], sensorIp: ip,
    provenance: "imitates tests sent as HTML-only mail whose visible text is the tested IP",
  }));
}

// 32. Dotless integer in a relay subject.
for (const [k, ip] of IPS.entries()) {
  add(msg("dotless-subject", {
    headers: [`From: di${k}@example.net`, `To: dibox${k}@example.com`, `Subject: ${["relay", "open relay", "relay check"][k]} ${int(ip)}`], body: "\n", mailFrom: `di${k}@example.net`, dropboxes: [`dibox${k}@example.com`], sensorIp: ip,
    provenance: "imitates tests writing the tested IP as a dotless 32-bit integer next to a relay word",
  }));
}

// ---- write ---------------------------------------------------------------------------------------------------------------
mkdirSync(DIR, { recursive: true });
for (const f of readdirSync(DIR)) if (f.startsWith("pos-")) rmSync(join(DIR, f));
const n = new Map();
for (const m of out) {
  const k = (n.get(m.style) ?? 0) + 1;
  n.set(m.style, k);
  const base = join(DIR, `pos-${m.style}-${k}`);
  writeFileSync(`${base}.eml`, m.raw, "latin1");
  writeFileSync(`${base}.json`, JSON.stringify(m.sidecar) + "\n");
}
process.stdout.write(`${out.length} relay tests in ${n.size} styles written to ${DIR}\n`);
