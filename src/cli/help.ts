// The command table: every command's usage line, what it does and its options, for `help`, `CMD --help` and the
// usage line after a usage error.
import { PERSONAS } from "../config/schema.js";

/** One command's help: its usage line (printed after every usage error), what it does, its options. */
export interface CommandHelp {
  usage: string;
  about: string;
  options?: string;
}

export const CONFIG_OPTS = `  --config FILE            the YAML config the sensor runs with (env RELAYTRAP_CONFIG); RELAYTRAP_* variables apply too
  --data-dir DIR           data directory (default: the config's dataDir, ./data)`;

export const COMMANDS: Record<string, CommandHelp> = {
  run: {
    usage: "relaytrap run [options]",
    about: "Run the sensor. Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reopens the event log.",
    options: `Each option is also a config key and a RELAYTRAP_* environment variable:
  --config FILE            YAML config file (env RELAYTRAP_CONFIG)
  --data-dir DIR           data directory (default ./data)                       dataDir
  --smtp-listen HOST:PORT  SMTP listener, repeatable (default 0.0.0.0:2525)      smtpListen
  --smtps-listen HOST:PORT implicit-TLS SMTP listener, repeatable               smtpsListen
  --proxy-listen HOST:PORT open-proxy trap (HTTP + SOCKS4/5), repeatable        proxyListen
  --web-listen HOST:PORT   web UI / API listener (default 127.0.0.1:8025)       webListen
  --sensor-ip IP           public address of this sensor (NAT), repeatable      sensorIps
  --hostname NAME          host name the persona greets with (default: hostname) hostname
  --persona NAME           ${PERSONAS.join("|")} (default postfix)               persona
  --collector-url URL      push events and message summaries to this collector   collectorUrl
  --collector-token TOKEN  this sensor's token there (or RELAYTRAP_COLLECTOR_TOKEN_FILE) collectorToken`,
  },
  export: {
    usage: "relaytrap export [--config FILE] [--data-dir DIR] [--format jsonl|mbox] [--kind KIND] [--since TIME] [--no-raw]",
    about: "Stream stored messages to stdout (safe while the sensor runs).",
    options: `${CONFIG_OPTS}
  --format jsonl|mbox      output format (default jsonl)
  --kind KIND              only messages of this kind (relay-test, spam, other, unknown)
  --since TIME             only messages received at or after TIME (ISO-8601, or 7d / 12h / 30m ago)
  --no-raw                 jsonl without the base64 raw message`,
  },
  analyze: {
    usage: "relaytrap analyze FILE.eml [--explain] [--sensor-ip IP]... [--client-ip IP] [--helo NAME] [--mail-from ADDR] [--rcpt ADDR]... [--config FILE]",
    about: "Print the relay-test verdict of one message as JSON (--explain: in words).",
    options: `  --explain                the evidence trail in words: which field, which decoder, what it decoded, why this
                           confidence, whether it acts (only certain relay tests do)
  --sensor-ip IP           the sensor's own address (repeatable; default: the config's sensorIps): a test of it
                           sets matchesSensor
  --client-ip IP  --helo NAME  --mail-from ADDR  --rcpt ADDR (repeatable)   the SMTP envelope
  --config FILE            the YAML config the sensor runs with (env RELAYTRAP_CONFIG)`,
  },
  reanalyze: {
    usage: "relaytrap reanalyze [--config FILE] [--data-dir DIR] [--sensor-ip IP]...",
    about: "Run the current analyzer over every stored message again and summarise what changed (verdicts up / down, by confidence).",
    options: `${CONFIG_OPTS}
  --sensor-ip IP           the sensor's own address, repeatable (default: the config's sensorIps)`,
  },
  "check-config": {
    usage: "relaytrap check-config [--config FILE]",
    about: "Validate the config (file + environment; every bad key at once) and print it, secrets masked.",
    options: "  --config FILE            YAML config file (env RELAYTRAP_CONFIG)",
  },
  doctor: {
    usage: "relaytrap doctor [--config FILE] [--data-dir DIR]",
    about: "Check ports, data dir, the store (quick_check), disk space, open files, memory, sensor IPs, delivery, web exposure.",
    options: CONFIG_OPTS,
  },
  delivery: {
    usage: "relaytrap delivery off|on|status [--config FILE] [--data-dir DIR]",
    about: `The delivery kill switch (persisted; a running sensor obeys at once). status prints, as JSON, the delivery state the
web UI shows: configEnabled, killSwitchEngaged, dryRun, effective ("off (config)", "stopped (kill switch)", "dry run"
or "on"), and the last day's counts. Give it the sensor's --config: delivery.enabled comes from there.`,
    options: CONFIG_OPTS,
  },
  import: {
    usage: "relaytrap import PATH [--config FILE] [--data-dir DIR] [--sensor-ip IP]...",
    about: `Import old trapped mail (mbox, Maildir, dir of .eml, one .eml), original dates kept; storage.maxAgeDays counts
from the import (storage.pruneImported).`,
    options: `${CONFIG_OPTS}
  --sensor-ip IP           the sensor's own address, repeatable (default: the config's sensorIps)`,
  },
  demo: {
    usage: "relaytrap demo [--data-dir DIR] [--web-listen HOST:PORT] [--smtp-listen HOST:PORT]... [--days N] [--interval-ms MS] [--keep]",
    about: `A sensor with months of history and a simulated live stream (RFC 5737 sources). It makes its own config; without
--data-dir its data goes to a temporary directory that is removed on exit unless --keep.`,
    options: `  --data-dir DIR           data directory (default: a new temporary directory)
  --web-listen HOST:PORT   web UI (default 127.0.0.1:8025)
  --smtp-listen HOST:PORT  SMTP listener, repeatable (default 127.0.0.1:0)
  --days N                 days of history to seed (default 420)
  --interval-ms MS         time between simulated live sessions (default 2500)
  --keep                   keep the temporary data directory on exit`,
  },
  "hash-password": {
    usage: "relaytrap hash-password",
    about: `Print the scrypt hash of a password for web.users. On a terminal it asks twice without echo; otherwise it reads
one line from stdin.`,
  },
  collector: {
    usage: "relaytrap collector --listen HOST:PORT --database-url postgres://... [--config FILE]",
    about: "The fleet collector on PostgreSQL (sensor tokens: RELAYTRAP_COLLECTOR_TOKENS).",
    options: `  --listen HOST:PORT       collector.listen
  --database-url URL       collector.databaseUrl (or RELAYTRAP_COLLECTOR_DATABASE_URL_FILE)
  --config FILE            YAML config file (env RELAYTRAP_CONFIG)`,
  },
  "collector-token": {
    usage: "relaytrap collector-token NAME | relaytrap collector-token revoke NAME [--database-url URL] [--config FILE]",
    about: `NAME: print a new random sensor token and its config entry (sha256 hash).
revoke NAME: refuse a sensor's pushes and drop its sightings from the shared dropbox list.`,
    options: `  --database-url URL       the collector's database (default: the config's collector.databaseUrl)
  --config FILE            YAML config file (env RELAYTRAP_CONFIG)`,
  },
  "collector-dropbox": {
    usage: "relaytrap collector-dropbox confirm|unconfirm ADDRESS [--note TEXT] [--database-url URL] [--config FILE]",
    about: "An operator's word: a confirmed dropbox is known to every sensor.",
    options: `  --note TEXT              why (kept with the confirmation)
  --database-url URL       the collector's database (default: the config's collector.databaseUrl)
  --config FILE            YAML config file (env RELAYTRAP_CONFIG)`,
  },
  report: {
    usage: "relaytrap report --message ID [--format arf|xarf] [--kind source|dropbox] [--to auto|ADDR] [--include-private] [--config FILE] [--data-dir DIR]",
    about: "Print an abuse report (ARF, RFC 5965, or X-ARF JSON) for a stored message.",
    options: `  --message ID             the stored message (required)
  --format arf|xarf        default arf
  --kind source|dropbox    report the sending source (default) or the dropbox
  --to auto|ADDR           the abuse contact (auto: RDAP lookup)
  --include-private        also report private / documentation addresses
${CONFIG_OPTS}`,
  },
  feed: {
    usage: "relaytrap feed misp|csv|json [--out DIR|FILE] [--since TIME] [--include-private] [--config FILE] [--data-dir DIR]",
    about: "Feeds of relay-test sources and dropboxes (MISP feed directory, CSV, JSON).",
    options: `  --out DIR|FILE           where to write (required for misp: a directory; csv/json default to stdout)
  --since TIME             only sightings at or after TIME (ISO-8601, or 7d / 12h / 30m ago)
  --include-private        include private / documentation addresses
${CONFIG_OPTS}`,
  },
  help: { usage: "relaytrap help [COMMAND]", about: "This text, or one command's." },
};

export const HELP = `relaytrap - open-relay and open-proxy honeypot

Usage:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}\n      ${c.about.split("\n")[0]}`)
  .join("\n")}

relaytrap COMMAND --help shows one command's options. Commands that read the config or the data directory take
--config FILE (or RELAYTRAP_CONFIG) and the RELAYTRAP_* variables, like the sensor.
Exit status: 0 ok, 1 runtime error, 2 bad usage or config.`;

export function commandHelp(c: CommandHelp): string {
  return `Usage: ${c.usage}\n\n${c.about}\n${c.options ? `\nOptions:\n${c.options}\n` : ""}\nExit status: 0 ok, 1 runtime error, 2 bad usage or config.\n`;
}
