// Real-looking trapped messages (raw RFC 5322 + envelope) for analysis tests: relay tests and hard negatives.
import type { Envelope, MessageKind } from "./types.js";

/** The sensor's public IPs in these fixtures (documentation ranges). */
export const SENSOR_V4 = "198.51.100.23";
export const SENSOR_V6 = "2001:db8::25";

/** Our own trace header, as the SMTP layer prepends it: it names the client and the sensor and must never count. */
export function trace(client: string, sensor = SENSOR_V4): string {
  return `Received: from ${client} (HELO ${client}) by mx.trap.example ([${sensor}]) with SMTP id 7f3a9c; Sun, 01 Dec 2013 12:17:23 +0000`;
}

/** Join header lines and a body into raw bytes with CRLF line ends. */
export function eml(headers: string[], body: string): Buffer {
  return Buffer.from(`${headers.join("\r\n")}\r\n\r\n${body.replace(/\r?\n/g, "\r\n")}`, "utf8");
}

export function env(mailFrom: string | null, rcptTo: string[], clientIp = "203.0.113.50"): Envelope {
  return { clientIp, helo: "User", mailFrom, rcptTo };
}

export interface Fixture {
  name: string;
  raw: Buffer;
  env: Envelope;
  sensorIps: string[];
  knownDropboxes?: string[];
  expect: {
    kind: MessageKind;
    testedIps?: string[];
    testedIncludes?: string[];
    matchesSensor?: boolean;
    dropboxes?: string[];
    tester?: string;
  };
}

export const YAHOO_2013 = [
  "kellyann.morris77", "brandon_t_1984", "sweetpea_4ever", "dwilliams2201", "crazy4horses_88", "mjohnson_tx",
  "angel.eyes.2009", "bigdaddy_mike45", "tina_marie_k", "rockstar_jay21", "lisa.b.garner", "countrygirl_0712",
  "hotrod_steve62", "jenny.lou.smith", "dannyboy_1977", "cutie_pie_4u2", "r.hernandez81", "soccermom_2004",
  "blue_eyes_baby3", "jr_thompson_55", "sunshine.kat19",
].map((u) => `${u}@yahoo.com`);

/** The 2003 test body: decimal-ASCII triplets of "65.70.89.125:adsl-65-70-89-125.dsl.tulsok.swbell.net:355:2:", wrapped at odd points. */
export const BODY_2003 = [
  "0540530460550480460560570460490500530",
  "58097100115108045054053045055048045056057045049050053",
  "04610011510804611611710811511",
  "1107046115119098101108108046110101116058051053053058050058",
  "",
].join("\n");

export const RELAY_TESTS: Fixture[] = [
  {
    name: "2013 glued subject '<ip>@pauletteOpen Relay', malformed Date month, 21 yahoo RCPTs",
    raw: eml(
      [
        trace("[203.0.113.50]"),
        "Date: Sun, 1 Dez 2013 12:17:21 +0000",
        "From: test@live.com",
        "To: undisclosed-recipients:;",
        `Subject: ${SENSOR_V4}@pauletteOpen Relay`,
        "Message-ID: <20131201121721.5C1F@live.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
      ],
      "paulette\n",
    ),
    env: env("<test@live.com>", YAHOO_2013.map((a) => `<${a}>`)),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], matchesSensor: true, dropboxes: YAHOO_2013 },
  },
  {
    name: "2003 decimal-ASCII triplets in body and Message-ID",
    raw: eml(
      [
        trace("adsl-65-70-89-125.dsl.tulsok.swbell.net", "65.70.89.125"),
        "From: \"Mike\" <mike_2k3@hotmail.com>",
        "To: jsmith4471@yahoo.com",
        "Subject: ",
        "Date: Tue, 14 Oct 2003 03:12:55 -0500",
        "Message-ID: <054053046055048046056057046049050053@hotmail.com>",
        "X-Mailer: Microsoft Outlook Express 6.00.2800.1106",
      ],
      BODY_2003,
    ),
    env: env("<mike_2k3@hotmail.com>", ["<jsmith4471@yahoo.com>"], "65.70.89.125"),
    sensorIps: ["65.70.89.125"],
    expect: { kind: "relay-test", testedIps: ["65.70.89.125"], matchesSensor: true, dropboxes: ["jsmith4471@yahoo.com"] },
  },
  {
    name: "DSBL LISTME cookie message",
    raw: eml(
      [trace("[203.0.113.61]"), "From: listme@listme.dsbl.org", "To: listme@listme.dsbl.org", `Subject: DSBL LISTME: smtp ${SENSOR_V4}`, "Date: Mon, 5 Jan 2004 10:00:00 +0000"],
      `DSBL LISTME: smtp ${SENSOR_V4}\n7d3f9a1c2b4e6f8091a2b3c4d5e6f708\nConnection: 203.0.113.61:1734 -> ${SENSOR_V4}:25\nDSBL END\n`,
    ),
    env: env("<listme@listme.dsbl.org>", ["<listme@listme.dsbl.org>"], "203.0.113.61"),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIncludes: [SENSOR_V4], matchesSensor: true, tester: "dsbl" },
  },
  {
    name: "%-hack to an address literal",
    raw: eml([trace("[203.0.113.7]"), "From: a@b.example", "To: dropbox@mail.example.net", "Subject: hello", "Date: Mon, 2 Jan 2012 10:00:00 +0000"], "hi\n"),
    env: env("<a@b.example>", [`<dropbox%mail.example.net@[${SENSOR_V4}]>`]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], matchesSensor: true, dropboxes: ["dropbox@mail.example.net"] },
  },
  {
    name: "quoted local part \"user@dropbox\"@ip",
    raw: eml([trace("[203.0.113.7]"), "From: a@b.example", "Subject: x", "Date: Mon, 2 Jan 2012 10:00:00 +0000"], ".\n"),
    env: env("<a@b.example>", [`<"SpamTest@Dropbox.example"@${SENSOR_V4}>`]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], dropboxes: ["spamtest@dropbox.example"] },
  },
  {
    name: "bang path dropbox!user@[ip]",
    raw: eml([trace("[203.0.113.7]"), "From: a@b.example", "Subject: x", "Date: Mon, 2 Jan 2012 10:00:00 +0000"], "x\n"),
    env: env("<a@b.example>", [`<dropbox.example!joe@[${SENSOR_V4}]>`]),
    sensorIps: [],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], matchesSensor: false, dropboxes: ["joe@dropbox.example"] },
  },
  {
    name: "RCPT to a plain address literal",
    raw: eml([trace("[203.0.113.7]"), "From: a@b.example", "Subject: hi", "Date: Mon, 2 Jan 2012 10:00:00 +0000"], "hi\n"),
    env: env("<a@b.example>", [`<relaytest@[IPv6:2001:0db8:0:0::25]>`]),
    sensorIps: [SENSOR_V6],
    expect: { kind: "relay-test", testedIps: [SENSOR_V6], matchesSensor: true },
  },
  {
    name: "swaks default test message",
    raw: eml(
      [
        trace("[203.0.113.9]"),
        "Date: Tue, 02 Jan 2024 10:00:00 +0000",
        "To: check@dropbox.example",
        "From: swaks@scanner.example",
        "Subject: test Tue, 02 Jan 2024 10:00:00 +0000",
        "Message-Id: <20240102100000.012345@scanner.example>",
        "X-Mailer: swaks v20201014.0 jetmore.org/john/code/swaks/",
      ],
      "This is a test mailing\n",
    ),
    env: env("<swaks@scanner.example>", ["<check@dropbox.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", tester: "swaks", dropboxes: ["check@dropbox.example"] },
  },
  {
    name: "Nessus relay test",
    raw: eml([trace("[203.0.113.10]"), "From: nessus@nessus.org", "To: nessus@nessus.org", "Subject: Nessus relay test", "Date: Tue, 02 Jan 2024 10:00:00 +0000"], "Nessus is probing this server.\n"),
    env: env("<nessus@nessus.org>", ["<nessus@nessus.org>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", tester: "nessus" },
  },
  {
    name: "proxy judge headers",
    raw: eml(
      [trace("[203.0.113.11]"), "From: judge@proxies.example", "To: judge@proxies.example", "Subject: pj", "X-Proxy-Spec: v2 smtp-through-proxy", `X-Proxy-Check-Target: ${SENSOR_V4}:3128`],
      "ok\n",
    ),
    env: env("<judge@proxies.example>", ["<judge@proxies.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], tester: "proxy-judge" },
  },
  {
    name: "PROMISCUOUS RELAY",
    raw: eml([trace("[203.0.113.12]"), "From: x@y.example", "To: z@dropbox.example", `Subject: PROMISCUOUS RELAY ${SENSOR_V4}`], "promiscuous relay check\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], tester: "promiscuous-relay" },
  },
  {
    name: "base64 ip:port glued after a random token in the body",
    raw: eml([trace("[203.0.113.13]"), "From: x@y.example", "To: z@dropbox.example", "Subject: 4471"], "id=q9Zx" + Buffer.from(`${SENSOR_V4}:25`).toString("base64") + "\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4] },
  },
  {
    name: "1<hex>:port in subject",
    raw: eml([trace("[203.0.113.14]"), "From: x@y.example", "To: z@dropbox.example", "Subject: 1C6336417:25"], "\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], matchesSensor: true },
  },
  {
    name: "hex ASCII in an X- header",
    raw: eml([trace("[203.0.113.15]"), "From: x@y.example", "To: z@dropbox.example", "Subject: news", "X-Ref: 3139382e35312e3130302e3233"], "Hello there\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4] },
  },
  {
    name: "dotless decimal in a relay subject",
    raw: eml([trace("[203.0.113.16]"), "From: x@y.example", "To: z@dropbox.example", "Subject: relay 3325256727"], "\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4] },
  },
  {
    name: "reversed octets matching the sensor",
    raw: eml([trace("[203.0.113.17]"), "From: x@y.example", "To: z@dropbox.example", "Subject: 23.100.51.198"], "ok\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], matchesSensor: true },
  },
  {
    name: "IPv6 subject in non-canonical form matches sensor",
    raw: eml([trace("[203.0.113.18]"), "From: x@y.example", "To: z@dropbox.example", "Subject: [2001:0DB8:0:0::25] open relay"], "\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [SENSOR_V6],
    expect: { kind: "relay-test", testedIps: [SENSOR_V6], matchesSensor: true },
  },
  {
    name: "IPv4-mapped IPv6 in subject matches IPv4 sensor",
    raw: eml([trace("[203.0.113.19]"), "From: x@y.example", "To: z@dropbox.example", `Subject: ::ffff:${SENSOR_V4}`], "\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [`::ffff:${SENSOR_V4}`],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], matchesSensor: true },
  },
  {
    name: "RFC 2047 encoded subject",
    raw: eml([trace("[203.0.113.20]"), "From: x@y.example", "To: z@dropbox.example", `Subject: =?UTF-8?B?${Buffer.from(`Open relay ${SENSOR_V4}`).toString("base64")}?=`], "\n"),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], matchesSensor: true },
  },
  {
    name: "quoted-printable short body with ip:port",
    raw: eml(
      [trace("[203.0.113.21]"), "From: x@y.example", "To: z@dropbox.example", "Subject: hi", "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: quoted-printable"],
      "198=2E51=2E100=2E23=3A25=\n\n",
    ),
    env: env("<x@y.example>", ["<z@dropbox.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4], matchesSensor: true },
  },
  {
    name: "IP in From local part with relay word",
    raw: eml([trace("[203.0.113.22]"), `From: relay-${SENSOR_V4}@checker.example`, "To: z@dropbox.example", "Subject: hello"], "hello\n"),
    env: env(`<relay-${SENSOR_V4}@checker.example>`, ["<z@dropbox.example>"]),
    sensorIps: [],
    expect: { kind: "relay-test", testedIps: [SENSOR_V4] },
  },
  {
    name: "known dropbox, nothing decodable",
    raw: eml([trace("[203.0.113.23]"), "From: x@y.example", "To: z@dropbox.example", "Subject: 8841"], "r7Kq\n"),
    env: env("<x@y.example>", ["<Z@Dropbox.example>"]),
    sensorIps: [SENSOR_V4],
    knownDropboxes: ["z@dropbox.example"],
    expect: { kind: "relay-test", testedIps: [], dropboxes: ["z@dropbox.example"] },
  },
];

const LONG_MARKETING = Array.from({ length: 12 }, (_, i) =>
  `Paragraph ${i + 1}: Our premium hosting plans include unlimited bandwidth, free migrations, 24/7 support and a money-back guarantee. Upgrade now and save on your first year.`,
).join("\n\n");

const DSN = [
  "--b1",
  "Content-Type: text/plain; charset=us-ascii",
  "",
  "This is the mail system at host mx.isp.example.",
  "I'm sorry to have to inform you that your message could not be delivered to one or more recipients.",
  "",
  "<kellyann.morris77@yahoo.com>: host mta5.am0.yahoodns.net said: 554 delivery error",
  "",
  "--b1",
  "Content-Type: message/delivery-status",
  "",
  "Reporting-MTA: dns; mx.isp.example",
  "Final-Recipient: rfc822; kellyann.morris77@yahoo.com",
  "Action: failed",
  "Status: 5.0.0",
  "",
  "--b1",
  "Content-Type: text/rfc822-headers",
  "",
  `Received: from [203.0.113.50] by mx.trap.example ([${SENSOR_V4}]) with SMTP; Sun, 01 Dec 2013 12:17:23 +0000`,
  `Subject: ${SENSOR_V4}@pauletteOpen Relay`,
  "From: test@live.com",
  "",
  "--b1--",
  "",
].join("\n");

export const HARD_NEGATIVES: Fixture[] = [
  {
    name: "spam that mentions an IP in a long body",
    raw: eml([trace("[203.0.113.30]"), "From: sales@hosting.example", "To: you@victim.example", "Subject: Your server deserves better hosting"], `Hi,\n\nWe noticed your site at 203.0.113.77 loads slowly.\n\n${LONG_MARKETING}\n`),
    env: env("<sales@hosting.example>", ["<you@victim.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "DMARC aggregate report",
    raw: eml(
      [
        trace("[203.0.113.31]"),
        "From: noreply-dmarc-support@google.com",
        "To: dmarc@trap.example",
        "Subject: Report domain: trap.example Submitter: google.com Report-ID: 11912316286425446862",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="z"',
      ],
      [
        "--z",
        "Content-Type: text/plain",
        "",
        "",
        "--z",
        'Content-Type: application/xml; name="google.com!trap.example!1700000000!1700086399.xml"',
        'Content-Disposition: attachment; filename="google.com!trap.example!1700000000!1700086399.xml"',
        "",
        `<feedback><record><row><source_ip>${SENSOR_V4}</source_ip><count>1</count></row></record></feedback>`,
        "--z--",
        "",
      ].join("\n"),
    ),
    env: env("<noreply-dmarc-support@google.com>", ["<dmarc@trap.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "other" },
  },
  {
    name: "DSN bounce quoting our Received header and the relay-test subject",
    raw: eml(
      [trace("[192.0.2.80]"), "From: MAILER-DAEMON@mx.isp.example (Mail Delivery System)", "To: test@live.com", "Subject: Undelivered Mail Returned to Sender", "MIME-Version: 1.0", 'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"'],
      DSN,
    ),
    env: env("<>", ["<test@live.com>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "other" },
  },
  {
    name: "qmail failure notice quoting Received headers",
    raw: eml(
      [trace("[192.0.2.81]"), "From: MAILER-DAEMON@mail.isp.example", "To: test@live.com", "Subject: failure notice"],
      [
        "Hi. This is the qmail-send program at mail.isp.example.",
        "I'm afraid I wasn't able to deliver your message to the following addresses.",
        "",
        "<dwilliams2201@yahoo.com>:",
        "Sorry, no mailbox here by that name. (#5.1.1)",
        "",
        "--- Below this line is a copy of the message.",
        "",
        `Received: from unknown (HELO ${SENSOR_V4}) (${SENSOR_V4})`,
        "  by mail.isp.example with SMTP; 1 Dec 2013 12:17:25 -0000",
        "Subject: hello",
        "",
      ].join("\n"),
    ),
    env: env("<>", ["<test@live.com>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "other" },
  },
  {
    name: "newsletter with hex tracking ids holding the sensor's 4 bytes",
    raw: eml(
      [trace("[203.0.113.32]"), "From: news@shop.example", "To: you@victim.example", "Subject: Spring sale: 30% off everything", "X-Campaign-Id: 9f1ec6336417a0b4c4d2e8f7a9b0c1d2"],
      `Spring sale!\nhttps://click.shop.example/t/c6336417e2b94f0a8c1d/9f1ec6336417a0b4c4d2e8f7a9b0c1d2\nhttps://click.shop.example/o/0bc63364178e2e31\n${LONG_MARKETING}\n`,
    ),
    env: env("<bounce-9f1ec6336417@shop.example>", ["<you@victim.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "newsletter with base64 tracking ids holding the sensor's 4 bytes",
    raw: eml(
      [trace("[203.0.113.33]"), "From: news@shop.example", "To: you@victim.example", "Subject: Your weekly digest", `X-Tracking: ${Buffer.from([0x8a, 0x10, 198, 51, 100, 23, 0x00, 0x91, 0xfe, 0x42, 0x17, 0x33]).toString("base64")}`],
      `Digest\nhttps://t.shop.example/r/${Buffer.from([1, 2, 198, 51, 100, 23, 200, 9, 77, 0, 255, 3, 198, 51, 100, 23]).toString("base64url")}\n${LONG_MARKETING}\n`,
    ),
    env: env("<news@shop.example>", ["<you@victim.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "phishing link to an IP URL",
    raw: eml([trace("[203.0.113.34]"), "From: security@bank.example", "To: you@victim.example", "Subject: Account check required"], "Please check your account at http://203.0.113.5/login today.\n"),
    env: env("<security@bank.example>", ["<you@victim.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "monitoring alert (Nagios)",
    raw: eml(
      [trace("[203.0.113.35]"), "From: nagios@monitor.example", "To: ops@trap.example", "Subject: ** PROBLEM Host Alert: web01 is DOWN **"],
      "***** Nagios *****\n\nNotification Type: PROBLEM\nHost: web01\nState: DOWN\nAddress: 192.0.2.10\nInfo: PING CRITICAL - Packet loss = 100%\n\nCheck time: Mon Jan 8 10:00:00 UTC 2024\n",
    ),
    env: env("<nagios@monitor.example>", ["<ops@trap.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "monitoring alert with the IP in the subject",
    raw: eml([trace("[203.0.113.36]"), "From: monit@monitor.example", "To: ops@trap.example", "Subject: Host 192.0.2.10 is DOWN"], "Host 192.0.2.10 is DOWN\nCheck ping failed\n"),
    env: env("<monit@monitor.example>", ["<ops@trap.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "log excerpt (fail2ban / postfix)",
    raw: eml(
      [trace("[203.0.113.37]"), "From: fail2ban@host.example", "To: root@trap.example", "Subject: [Fail2Ban] sshd: banned 203.0.113.9 from host"],
      [
        "Hi,",
        "The IP 203.0.113.9 has just been banned by Fail2Ban after 5 attempts against sshd.",
        "Jan  8 10:00:01 host sshd[1234]: Invalid user test from 203.0.113.9 port 4242 ssh2",
        `Jan  8 10:00:02 host postfix/smtpd[99]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 <x@y.example>: Relay access denied; from=<a@b> to=<x@y.example> proto=ESMTP helo=<${SENSOR_V4}>`,
        "Regards, Fail2Ban",
      ].join("\n"),
    ),
    env: env("<fail2ban@host.example>", ["<root@trap.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "abuse complaint naming the sensor IP in a long body",
    raw: eml(
      [trace("[203.0.113.38]"), "From: abuse@isp.example", "To: abuse@trap.example", "Subject: Abuse report for your network"],
      `Dear network owner,\n\nWe received connections from ${SENSOR_V4} to our mail servers.\n\n${LONG_MARKETING}\n`,
    ),
    env: env("<abuse@isp.example>", ["<abuse@trap.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "firmware version number that looks like an IP",
    raw: eml([trace("[203.0.113.39]"), "From: updates@vendor.example", "To: you@victim.example", "Subject: New firmware 10.2.3.4 released - upgrade today"], "Firmware 10.2.3.4 fixes several bugs.\n"),
    env: env("<updates@vendor.example>", ["<you@victim.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "order confirmation with a 10-digit number",
    raw: eml([trace("[203.0.113.40]"), "From: orders@shop.example", "To: you@victim.example", "Subject: Your order 3405803781 has shipped"], "Order 3405803781 is on its way. Test your new gadget!\n"),
    env: env("<orders@shop.example>", ["<you@victim.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "read receipt (MDN)",
    raw: eml(
      [trace("[203.0.113.41]"), "From: boss@corp.example", "To: you@trap.example", "Subject: Read: test", "MIME-Version: 1.0", 'Content-Type: multipart/report; report-type=disposition-notification; boundary="m"'],
      "--m\nContent-Type: text/plain\n\nYour message was read.\n--m\nContent-Type: message/disposition-notification\n\nFinal-Recipient: rfc822; boss@corp.example\nDisposition: manual-action/MDN-sent-manually; displayed\n--m--\n",
    ),
    env: env("<boss@corp.example>", ["<you@trap.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "other" },
  },
  {
    name: "gmail-style Message-ID and DKIM signature",
    raw: eml(
      [
        trace("[203.0.113.42]"),
        "DKIM-Signature: v=1; a=rsa-sha256; d=gmail.com; s=20230601; bh=MTk4LjUxLjEwMC4yMzoyNQ==; b=MTk4LjUxLjEwMC4yMzoyNQ==",
        "From: friend@gmail.example",
        "To: you@victim.example",
        "Subject: lunch?",
        "Message-ID: <CAJ3k2x4Fh0q_vK7m9nB2cD1eF5gH8iJ0kL3mN6oP9qR2sT5uV@mail.gmail.com>",
      ],
      "Want to grab lunch tomorrow at noon?\n",
    ),
    env: env("<friend@gmail.example>", ["<you@victim.example>"]),
    sensorIps: [SENSOR_V4],
    expect: { kind: "spam" },
  },
  {
    name: "no recipients at all",
    raw: eml([trace("[203.0.113.43]"), "From: x@y.example", "Subject: Host 192.0.2.10 is DOWN"], "Host down since 10:00, ping 192.0.2.10 failed\n"),
    env: env("<x@y.example>", []),
    sensorIps: [SENSOR_V4],
    expect: { kind: "other" },
  },
];
