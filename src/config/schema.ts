// The configuration schema (zod): every CLI flag is a key here, every key has an env override RELAYTRAP_*.
import { isIP } from "node:net";
import { z } from "zod";
import { LIMIT_DEFAULTS } from "../smtp/limits.js";
import { PROXY_LIMIT_DEFAULTS } from "../proxy/limits.js";
import { parseHostPort } from "../net/address.js";

const hostPort = z.string().refine((s) => parseHostPort(s) !== null, { message: "expected HOST:PORT (e.g. 0.0.0.0:2525 or [::]:25)" });
const ip = z.string().refine((s) => isIP(s) !== 0, { message: "expected an IPv4 or IPv6 address" });
const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
/** A web user: {name, passwordHash} in YAML, or "name:hash" (from RELAYTRAP_WEB_USERS). Hashes: relaytrap hash-password. */
const webUserObject = z.object({ name: z.string().min(1).regex(/^[^:\s]+$/, "no spaces or colons"), passwordHash: z.string().regex(/^scrypt\$/, "expected a hash from relaytrap hash-password") }).strict();
const webUser = z.union([
  webUserObject,
  z
    .string()
    .regex(/^[^:\s]+:scrypt\$\S+$/, "expected NAME:HASH")
    .transform((s) => ({ name: s.slice(0, s.indexOf(":")), passwordHash: s.slice(s.indexOf(":") + 1) })),
]);

/** The one limit of each trap that is a percentage. */
const limitType = (k: string) => (k === "errorSleepMs" || k === "authFailureDelayMs" ? nonNegInt : k === "stressHighWaterPercent" ? positiveInt.max(100) : positiveInt);
const limitsShape = Object.fromEntries(Object.entries(LIMIT_DEFAULTS).map(([k, v]) => [k, limitType(k).default(v)])) as {
  [K in keyof typeof LIMIT_DEFAULTS]: z.ZodDefault<z.ZodNumber>;
};
const proxyLimitsShape = Object.fromEntries(Object.entries(PROXY_LIMIT_DEFAULTS).map(([k, v]) => [k, limitType(k).default(v)])) as {
  [K in keyof typeof PROXY_LIMIT_DEFAULTS]: z.ZodDefault<z.ZodNumber>;
};
/** A TCP port; strings are accepted so RELAYTRAP_PROXY_MAIL_PORTS=25,587 works. */
const tcpPort = z.coerce.number().int().min(1).max(65535);

export const PERSONAS = ["postfix", "sendmail", "exim"] as const;

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default("./data"),
    smtpListen: z.array(hostPort).default(["0.0.0.0:2525"]),
    smtpsListen: z.array(hostPort).default([]),
    /** Open-proxy trap listeners: HTTP proxy and SOCKS4/4a/5 on the same port. */
    proxyListen: z.array(hostPort).default([]),
    webListen: hostPort.default("127.0.0.1:8025"),
    /** Public addresses the sensor is reached at (behind NAT), for relay-test matching. */
    sensorIps: z.array(ip).default([]),
    /** Name the persona greets with. Default: this machine's host name, never a fixed relaytrap string. */
    hostname: z.string().min(1).regex(/^[A-Za-z0-9.-]+$/, "expected a host name").optional(),
    /** Name of this sensor in events (`sensor` field). Default: hostname. */
    sensorName: z.string().min(1).optional(),
    persona: z.enum(PERSONAS).default("postfix"),
    /** Random extra delay 0..jitterMs before each reply (0: reply as fast as the real server). */
    jitterMs: nonNegInt.max(10_000).default(0),
    tls: z
      .object({ cert: z.string().optional(), key: z.string().optional() })
      .strict()
      .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: "tls.cert and tls.key go together" })
      .prefault({}),
    auth: z
      .object({
        /** Advertise AUTH as a real server with SASL would; off: behave as the persona without SASL. */
        enabled: z.boolean().default(false),
        mechanisms: z.array(z.enum(["PLAIN", "LOGIN", "CRAM-MD5"])).min(1).default(["PLAIN", "LOGIN"]),
        /** Answer 235 (success) instead of 535 to every attempt. */
        accept: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    limits: z.object(limitsShape).strict().prefault({}),
    storage: z
      .object({
        /** Per-source cutoff window (Jackpot): past maxMessages or maxBytes in the window, bodies are not stored. */
        cutoffWindowMs: positiveInt.default(3_600_000),
        cutoffMaxMessages: positiveInt.default(200),
        cutoffMaxBytes: positiveInt.default(50 * 1024 * 1024),
        /** Past the cutoff, still store every Nth body (0: store none). */
        cutoffSampleEvery: nonNegInt.default(100),
        /** Total bytes of stored raw bodies; the oldest bodies are pruned past it. */
        quotaBytes: positiveInt.default(10 * 1024 * 1024 * 1024),
        /** Messages and sessions older than this are deleted (0: keep forever). */
        maxAgeDays: nonNegInt.default(365),
        /** Messages from `relaytrap import` age from when they were imported ("import-time"), or from their original
         * received time like live mail ("received-time": an old archive is deleted by the next prune). */
        pruneImported: z.enum(["import-time", "received-time"]).default("import-time"),
        pruneIntervalMs: positiveInt.default(600_000),
        /** Hard cap on the database file (SQLite max_page_count); when reached, 452 after DATA and pruning (0: none). */
        maxDatabaseBytes: nonNegInt.default(0),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        /** JSONL event log; relative paths are inside dataDir. */
        file: z.string().min(1).default("events.jsonl"),
        /** Bytes of events buffered for a slow disk before new events are dropped (and counted). */
        maxBufferBytes: positiveInt.default(8 * 1024 * 1024),
        /** Rotate the log when it would grow past this many bytes (0: never by size). */
        rotateBytes: nonNegInt.default(256 * 1024 * 1024),
        /** Also rotate at the first event of a new UTC day. */
        rotateDaily: z.boolean().default(false),
        /** Rotated (gzip-compressed) files kept; older ones are deleted. */
        keep: nonNegInt.default(10),
      })
      .strict()
      .prefault({}),
    /** Parse + analysis of trapped messages in worker threads (src/analysis/pool.ts), off the SMTP sessions' thread. */
    analysis: z
      .object({
        /** Worker threads, started when first needed (0: on the main thread, where hostile MIME stalls every session). */
        workers: nonNegInt.max(64).default(2),
        /** Messages up to this size are parsed on the main thread: cheaper than a worker round trip, and bounded. */
        inlineMaxBytes: nonNegInt.max(1024 * 1024).default(128 * 1024),
        /** A message still being parsed after this long is stored unparsed, with the reason (its worker is replaced). */
        timeoutMs: positiveInt.default(10_000),
        /** Heap cap per worker (V8 old generation); a message needing more is stored unparsed likewise. */
        maxHeapMb: positiveInt.min(32).default(256),
      })
      .strict()
      .prefault({}),
    /** Offline country and AS of source addresses (src/enrich): shipped databases, or the operator's GeoLite2 files. */
    enrich: z
      .object({
        enabled: z.boolean().default(true),
        /** A GeoLite2-Country or GeoLite2-City MMDB; omitted: the shipped @ip-location-db country database (CC0). */
        countryDb: z.string().min(1).optional(),
        /** A GeoLite2-ASN MMDB; omitted: the shipped @ip-location-db ASN table. */
        asnDb: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    rdns: z
      .object({
        enabled: z.boolean().default(false),
        timeoutMs: positiveInt.default(2000),
        cacheSize: positiveInt.default(10_000),
      })
      .strict()
      .prefault({}),
    /** Controlled delivery of relay tests (src/delivery). OFF by default; caps are per rolling 24 hours. */
    delivery: z
      .object({
        enabled: z.boolean().default(false),
        /** HOST:PORT every delivery goes to (any address, it is explicit); omitted: MX lookup of the recipient domain. */
        smarthost: hostPort.optional(),
        maxPerDay: nonNegInt.default(20),
        maxPerDropboxPerDay: nonNegInt.default(2),
        maxPerSourcePerDay: nonNegInt.default(5),
        /** Largest message delivered, in bytes (relay tests are small); a larger one is skipped, never cut. */
        maxMessageBytes: nonNegInt.default(32 * 1024),
        /** Deliver messages with an HTML part (off: a relay test is plain text; HTML is phishing's form). */
        allowHtml: z.boolean().default(false),
        /** Deliver messages with attachments. */
        allowAttachments: z.boolean().default(false),
        /** Decide and log what would be sent, send nothing. */
        dryRun: z.boolean().default(false),
        /** A spam run naming a dropbox learned from relay tests: one copy to that dropbox, under the same caps. */
        dropboxCopies: z.boolean().default(false),
        /** Let MX lookups lead to private, loopback or link-local addresses. */
        allowPrivateMx: z.boolean().default(false),
        timeoutMs: positiveInt.default(30_000),
        maxAttempts: positiveInt.default(5),
        /** First retry after this; doubles with every attempt. */
        retryBaseMs: positiveInt.default(60_000),
        /** How often the worker looks for due deliveries (and at the kill switch). */
        pollMs: positiveInt.default(1000),
      })
      .strict()
      .prefault({}),
    dropboxes: z
      .object({
        /** Dropboxes and recipient counts without a sighting for this long are deleted. */
        expireDays: positiveInt.default(90),
        /** A spam recipient seen in this many messages from this many sources is listed as a 'recurring' dropbox. */
        recurringMinMessages: positiveInt.default(10),
        recurringMinSources: positiveInt.default(3),
      })
      .strict()
      .prefault({}),
    web: z
      .object({
        /** Users of the web UI; required when webListen is not a loopback address. Env: NAME:HASH,NAME:HASH. */
        users: z.array(webUser).default([]),
        /** Read-only anonymous view of relay tests and graphs, dropbox local parts and trap recipients redacted. */
        public: z.boolean().default(false),
        /** Failed logins per client address and minute before 429. */
        loginAttemptsPerMinute: positiveInt.default(5),
        /** Lifetime of a login session. */
        sessionTtlMs: positiveInt.default(12 * 3_600_000),
        /** Live-feed (SSE) streams of anonymous public viewers at once; past it they get 503. */
        maxPublicLiveClients: positiveInt.default(50),
        /** Live-feed streams of signed-in users (everyone on loopback without users) at once; past it the oldest of
         * them is closed, so an admin's feed always connects, whatever anonymous viewers hold. */
        maxAdminLiveClients: positiveInt.default(20),
      })
      .strict()
      .prefault({}),
    proxy: z
      .object({
        /** CONNECTs to these ports are handed to the SMTP trap in-process. */
        mailPorts: z.array(tcpPort).default([25, 465, 587, 2525]),
        /** Mail ports whose tunnel starts with TLS (SMTPS). */
        implicitTlsPorts: z.array(tcpPort).default([465]),
        /** Any other target: a Squid-like answer (generic), held then answered as a connect timeout, or closed. */
        otherTargets: z.enum(["generic", "timeout", "close"]).default("generic"),
        limits: z.object(proxyLimitsShape).strict().prefault({}),
      })
      .strict()
      .prefault({}),
    /** Fleet collector this sensor pushes to (an operator-chosen destination, like delivery: off unless set). */
    collectorUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** This sensor's bearer token at the collector (env RELAYTRAP_COLLECTOR_TOKEN or RELAYTRAP_COLLECTOR_TOKEN_FILE). */
    collectorToken: z.string().min(8).max(512).regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces").optional(),
    collectorPush: z
      .object({
        /** Messages and events per push. */
        batchSize: positiveInt.max(5000).default(500),
        /** Wait between pushes when the outbox is empty. */
        intervalMs: positiveInt.default(2000),
        /** First retry after a failed push; doubles up to retryMaxMs. */
        retryBaseMs: positiveInt.default(1000),
        retryMaxMs: positiveInt.default(300_000),
        timeoutMs: positiveInt.default(30_000),
        /** Push raw message bodies too (base64), up to maxRawBytes each. Off: summaries only. */
        rawBodies: z.boolean().default(false),
        maxRawBytes: positiveInt.default(256 * 1024),
        /** Event ids (or prefixes ending in ".") queued for the collector. */
        events: z.array(z.string().min(1)).default(["smtp.session.", "smtp.message.", "smtp.auth.", "proxy.session.", "proxy.request", "proxy.smtp.", "delivery."]),
        /** Events waiting in the local outbox at most; beyond it new events are dropped (and counted). */
        maxOutboxEvents: positiveInt.default(1_000_000),
        /** How often the shared dropbox list is pulled from the collector. */
        dropboxPullIntervalMs: positiveInt.default(600_000),
        /** Fleet dropboxes with at least this score are used for classification and dropbox copies. */
        dropboxMinScore: nonNegInt.max(100).default(50),
      })
      .strict()
      .prefault({}),
    /** `relaytrap collector`: the fleet collector on PostgreSQL. */
    collector: z
      .object({
        listen: hostPort.default("127.0.0.1:8026"),
        /** postgres://user:pass@host:port/db (env RELAYTRAP_COLLECTOR_DATABASE_URL or ..._FILE). */
        databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL").optional(),
        /** Sensors and their bearer tokens: "sensor:token" or "sensor:sha256$HEX" (relaytrap collector-token NAME). */
        tokens: z.array(z.string().regex(/^[A-Za-z0-9._-]{1,64}:[\x21-\x7e]{8,}$/, "expected SENSOR:TOKEN")).default([]),
        /** Tokens (or sha256$HEX hashes) that may read the API but not push. */
        readTokens: z.array(z.string().regex(/^[\x21-\x7e]{8,}$/, "expected a token")).default([]),
        /** Largest push body accepted. */
        maxBodyBytes: positiveInt.default(32 * 1024 * 1024),
        /** Pooling: sightings older than this are not counted; a recurring spam recipient needs these counts. */
        dropboxWindowDays: positiveInt.default(90),
        recurringMinMessages: positiveInt.default(10),
        recurringMinSources: positiveInt.default(3),
        /** A pooled dropbox is known (served to sensors, scored past 40) once this many distinct sensors saw certain
         * relay tests to it, or an operator confirmed it (relaytrap collector-dropbox confirm). */
        dropboxMinSensors: positiveInt.default(2),
      })
      .strict()
      .prefault({}),
    /** Abuse reports (relaytrap report) and the RDAP look-up of abuse contacts. */
    reports: z
      .object({
        /** Where the IANA RDAP bootstrap files (ipv4.json, ipv6.json, dns.json) are fetched from. */
        rdapBootstrapUrl: z.url({ protocol: /^https?$/ }).default("https://data.iana.org/rdap/"),
        /** Bootstrap files are cached in dataDir for this long. */
        rdapCacheMaxAgeMs: positiveInt.default(7 * 86_400_000),
        rdapTimeoutMs: positiveInt.default(10_000),
        /** From: of reports. */
        from: z.string().min(3).default("abuse-reports@localhost"),
        /** Name in User-Agent and the reporter fields. */
        reporter: z.string().min(1).default("relaytrap"),
        /** Original message attached whole (message/rfc822) or its header only (text/rfc822-headers). */
        attach: z.enum(["message", "headers"]).default("headers"),
      })
      .strict()
      .prefault({}),
    /** Feeds (MISP, CSV, JSON): what is shared. */
    feeds: z
      .object({
        /** Replace the local part of dropbox addresses by "***" (only the domain is shared). */
        redactDropboxLocalParts: z.boolean().default(false),
        /** Organisation named as creator of MISP events. */
        orgName: z.string().min(1).default("relaytrap"),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
