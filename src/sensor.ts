// The sensor: wires config -> store, event sinks, policy and the SMTP trap. The one place the parts meet.
import { mkdirSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { createAnalysisPool, type AnalysisPool } from "./analysis/pool.js";
import type { Config } from "./config/schema.js";
import { defaultHostname } from "./config/load.js";
import { createDispatcher, type Dispatcher } from "./events/dispatcher.js";
import { createJsonlSink, type JsonlSink } from "./events/jsonl.js";
import { createEnricher, geoField, type Enricher } from "./enrich/index.js";
import { createRdns } from "./net/rdns.js";
import { loadOrCreateCert } from "./net/tls-cert.js";
import { createSourceCutoff, MAX_TRACKED_SOURCES, type SourceCutoff } from "./policy/cutoff.js";
import { createProxyTrap, type ProxyTrap } from "./proxy/server.js";
import { PERSONAS } from "./smtp/personas.js";
import { createSmtpTrap, type BoundListener, type SmtpTrap } from "./smtp/server.js";
import type { SmtpHooks } from "./smtp/session.js";
import { MAX_STORED_TEXT_CHARS } from "./store/row.js";
import { putProxyRequest, putProxySession } from "./store/sqlite/proxy.js";
import { openSqliteReader } from "./store/sqlite/reader.js";
import { openSqliteWriter } from "./store/sqlite/writer.js";
import type { StoreReader, StoreWriter } from "./store/types.js";
import { createDeliveryEngine, type DeliveryEngine } from "./delivery/engine.js";
import { createSqliteDeliveryStore, readDeliveryStatus, setDeliverySwitch } from "./store/sqlite/delivery.js";
import { createWebServer } from "./web/server.js";
import type { LookupAll } from "./net/address.js";
import { createIngest, smtpMessage } from "./ingest.js";
import { createRetention } from "./retention.js";
import { createCollectorClient, type CollectorClient } from "./fleet/client.js";
import { withFleetDropboxes } from "./fleet/dropboxes.js";

/** How long a stopping sensor waits for messages being stored so their 250 can still go out. */
export const SHUTDOWN_GRACE_MS = 5000;

export interface Sensor {
  listeners: BoundListener[];
  smtp: SmtpTrap;
  proxy: ProxyTrap;
  events: Dispatcher;
  reader: StoreReader;
  writer: StoreWriter;
  hostname: string;
  /** Dropbox learning and (when enabled) controlled delivery of relay tests. */
  delivery: DeliveryEngine;
  /** Push to the fleet collector (config collectorUrl), or null. */
  collector: CollectorClient | null;
  /** Parse + analysis worker threads. */
  analysis: AnalysisPool;
  /** Offline country/AS look-ups (enrich.enabled), or null. */
  enricher: Enricher | null;
  reopenLogs(): void;
  prune(): Promise<void>;
  close(): Promise<void>;
}

export interface SensorOptions {
  log?: (line: string) => void;
  /** Resolves the web listen host (injected in tests). */
  lookup?: LookupAll;
}

/** The per-source cutoff, its windows seeded from what is stored (a restart does not reset a flood's count). */
function openCutoff(st: Config["storage"], reader: StoreReader): SourceCutoff {
  const cutoff = createSourceCutoff({
    windowMs: st.cutoffWindowMs,
    maxMessages: st.cutoffMaxMessages,
    maxBytes: st.cutoffMaxBytes,
    sampleEvery: st.cutoffSampleEvery,
    maxTrackedSources: MAX_TRACKED_SOURCES,
  });
  const now = Date.now();
  for (const c of reader.sourceCounts(now - st.cutoffWindowMs)) cutoff.seed(c.srcIp, c.messages, c.bytes, now);
  return cutoff;
}

/** The event dispatcher with its JSONL file sink (an unwritable file is logged once, never fatal). */
function openEvents(config: Config, hostname: string, log: (line: string) => void, enricher: Enricher | null): { events: Dispatcher; jsonl: JsonlSink } {
  const events = createDispatcher({
    sensor: config.sensorName ?? hostname,
    // connect events carry the source's offline country and AS (null while the databases load, never waited for)
    decorate: enricher
      ? (e) => (e.eventid === "smtp.session.connect" || e.eventid === "proxy.session.connect" ? { geo: geoField(enricher.lookup(e.src_ip)) } : undefined)
      : undefined,
  });
  const eventPath = isAbsolute(config.events.file) ? config.events.file : join(config.dataDir, config.events.file);
  let eventErrorLogged = false;
  const jsonl = createJsonlSink(eventPath, {
    maxBufferBytes: config.events.maxBufferBytes,
    rotate: { bytes: config.events.rotateBytes, daily: config.events.rotateDaily, keep: config.events.keep },
    onError: (err) => {
      if (!eventErrorLogged) log(`relaytrap: event log ${eventPath}: ${err.message}`);
      eventErrorLogged = true;
    },
  });
  events.addSink(jsonl);
  return { events, jsonl };
}

/** The SMTP trap and the proxy trap in front of it. Nothing a proxy client asks for leaves the machine: mail ports go
 * to the SMTP trap in-process (the same hooks, so the same ingest path), the rest is answered by the proxy trap. */
async function openTraps(config: Config, hostname: string, hooks: SmtpHooks, writer: StoreWriter, events: Dispatcher, log: (line: string) => void) {
  const keyPair = await loadOrCreateCert({ dataDir: config.dataDir, hostname, cert: config.tls.cert, key: config.tls.key });
  const rdns = config.rdns.enabled ? createRdns(config.rdns) : null;
  const smtp = createSmtpTrap({
    persona: PERSONAS[config.persona],
    hostname,
    limits: config.limits,
    auth: config.auth,
    jitterMs: config.jitterMs,
    keyPair,
    hooks,
    rdns: rdns ? (ip) => rdns.lookup(ip) : null,
  });
  const proxy = createProxyTrap({
    smtp,
    hostname,
    sensorIps: config.sensorIps,
    mailPorts: config.proxy.mailPorts,
    implicitTlsPorts: config.proxy.implicitTlsPorts,
    otherTargets: config.proxy.otherTargets,
    limits: config.proxy.limits,
    emit: (id, ctx, fields) => events.emit(id, ctx, fields),
    recorder: {
      request: (r) => void putProxyRequest(writer, r).catch((err: Error) => log(`relaytrap: storing a proxy request failed: ${err.message}`)),
      sessionEnded: (s) => void putProxySession(writer, s).catch((err: Error) => log(`relaytrap: storing proxy session ${s.id} failed: ${err.message}`)),
    },
  });
  return { smtp, proxy };
}

export async function createSensor(config: Config, opts: SensorOptions = {}): Promise<Sensor> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const hostname = config.hostname ?? defaultHostname();
  const dataDir = config.dataDir;
  // first: an operator's database that cannot be read stops the start before anything is opened (config: enrich.*)
  const enricher = config.enrich.enabled ? createEnricher({ countryDb: config.enrich.countryDb, asnDb: config.enrich.asnDb }) : null;
  mkdirSync(dataDir, { recursive: true });

  const writer = await openSqliteWriter(dataDir, { maxDatabaseBytes: config.storage.maxDatabaseBytes });
  const reader = openSqliteReader(dataDir);
  const cutoff = openCutoff(config.storage, reader);
  const { events, jsonl } = openEvents(config, hostname, log, enricher);
  // Only with an operator-configured collectorUrl does anything go to a collector (like delivery, off by default).
  const collector =
    config.collectorUrl !== undefined && config.collectorToken !== undefined
      ? createCollectorClient({ url: config.collectorUrl, token: config.collectorToken, config: config.collectorPush, reader, writer, log })
      : null;
  if (collector) events.addSink(collector.sink);
  const deliveryStore = createSqliteDeliveryStore(writer, reader);
  const delivery = createDeliveryEngine({
    config,
    hostname,
    store: collector ? withFleetDropboxes(deliveryStore, () => collector.knownDropboxes()) : deliveryStore,
    reader,
    events,
    log,
  });
  const analysis = createAnalysisPool({ ...config.analysis, maxTextChars: MAX_STORED_TEXT_CHARS, log });
  const retention = createRetention({ storage: config.storage, writer, events, log });

  // Live mail, direct or diverted from the proxy trap; `relaytrap import` and the demo's history take the same path.
  const ingest = createIngest({
    analysis,
    writer,
    sensorIps: config.sensorIps,
    sensorNames: [hostname],
    log,
    knownDropboxes: collector ? () => collector.knownDropboxes() : undefined,
    cutoff,
    events,
    delivery,
    onStorageFull: () => void retention.prune(true),
    onBodyStored: () => retention.bodyStored(),
  });
  const hooks: SmtpHooks = {
    emit: (id, ctx, fields) => events.emit(id, ctx, fields),
    storeMessage: (m) => ingest(smtpMessage(m)),
    messageDropped(s, reason, size) {
      events.emit("smtp.message.dropped", s.ctx, { reason, size });
    },
    sessionEnded(rec) {
      writer.putSession(rec).catch((err: Error) => log(`relaytrap: storing session ${rec.id} failed: ${err.message}`));
    },
  };
  const { smtp, proxy } = await openTraps(config, hostname, hooks, writer, events, log);

  const listeners: BoundListener[] = [];
  const web = createWebServer({
    config,
    reader,
    events,
    activeSessions: () => smtp.activeSessions,
    enricher,
    analysisGivenUp: () => analysis.givenUp,
    log,
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
    // The persisted delivery kill switch ("engaged" = delivery off); the engine reads it before every send.
    killSwitch: {
      get: () => readDeliveryStatus(dataDir).switch === "off",
      set: (engaged) => setDeliverySwitch(dataDir, engaged ? "off" : "on"),
    },
  });
  try {
    for (const hp of config.smtpListen) listeners.push(await smtp.listen("smtp", hp));
    for (const hp of config.smtpsListen) listeners.push(await smtp.listen("smtps", hp));
    for (const hp of config.proxyListen) listeners.push(await proxy.listen(hp));
    listeners.push({ kind: "web", ...(await web.listen(config.webListen)) });
  } catch (err) {
    await web.close();
    await proxy.close();
    await smtp.close(0);
    await analysis.close();
    await writer.close();
    reader.close();
    await events.close();
    throw err;
  }

  retention.start();
  // the shipped databases load in the background (about a second, in slices); look-ups answer null until then
  void enricher?.ready().catch((err: Error) => log(`relaytrap: enrichment databases not loaded: ${err.message}`));
  await delivery.start();
  collector?.start();

  return {
    listeners,
    smtp,
    proxy,
    events,
    reader,
    writer,
    hostname,
    delivery,
    collector,
    analysis,
    enricher,
    reopenLogs: () => jsonl.reopen(),
    prune: () => retention.prune(),
    async close() {
      retention.stop();
      await web.close();
      await proxy.close();
      await smtp.close(SHUTDOWN_GRACE_MS);
      await analysis.close();
      await delivery.close();
      await collector?.close();
      await retention.idle();
      await writer.close();
      reader.close();
      await events.close();
    },
  };
}
