// The sensor: wires config -> store, event sinks, policy and the SMTP trap. The one place the parts meet.
import { mkdirSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { createAnalysisPool, type AnalysisPool } from "./analysis/pool.js";
import type { Config } from "./config/schema.js";
import { defaultHostname } from "./config/load.js";
import { createDispatcher, type Dispatcher } from "./events/dispatcher.js";
import { createJsonlSink, type JsonlSink } from "./events/jsonl.js";
import { createRdns } from "./net/rdns.js";
import { loadOrCreateCert } from "./net/tls-cert.js";
import { createSourceCutoff, MAX_TRACKED_SOURCES } from "./policy/cutoff.js";
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
import { createCollectorClient, withFleetDropboxes, type CollectorClient } from "./collector/client.js";

/** How long a stopping sensor waits for messages being stored so their 250 can still go out. */
export const SHUTDOWN_GRACE_MS = 5000;
/** Share of the storage cap (or of the stored bodies, on a full disk) freed when a write finds storage full. */
export const FULL_FREE_FRACTION = 0.1;

/** The context of events that belong to no session (store.pruned). */
const STORE_CONTEXT = { session: "", protocol: "store", src_ip: "", src_port: 0, dest_ip: "", dest_port: 0 };

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
  reopenLogs(): void;
  prune(): Promise<void>;
  close(): Promise<void>;
}

export interface SensorOptions {
  log?: (line: string) => void;
  /** Resolves the web listen host (injected in tests). */
  lookup?: LookupAll;
}

export async function createSensor(config: Config, opts: SensorOptions = {}): Promise<Sensor> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const hostname = config.hostname ?? defaultHostname();
  const dataDir = config.dataDir;
  mkdirSync(dataDir, { recursive: true });

  const writer = await openSqliteWriter(dataDir, { maxDatabaseBytes: config.storage.maxDatabaseBytes });
  const reader = openSqliteReader(dataDir);
  const st = config.storage;
  const cutoff = createSourceCutoff({
    windowMs: st.cutoffWindowMs,
    maxMessages: st.cutoffMaxMessages,
    maxBytes: st.cutoffMaxBytes,
    sampleEvery: st.cutoffSampleEvery,
    maxTrackedSources: MAX_TRACKED_SOURCES,
  });
  const now = Date.now();
  for (const c of reader.sourceCounts(now - st.cutoffWindowMs)) cutoff.seed(c.srcIp, c.messages, c.bytes, now);

  const events = createDispatcher({ sensor: config.sensorName ?? hostname });
  const eventPath = isAbsolute(config.events.file) ? config.events.file : join(dataDir, config.events.file);
  let eventErrorLogged = false;
  const jsonl: JsonlSink = createJsonlSink(eventPath, {
    maxBufferBytes: config.events.maxBufferBytes,
    rotate: { bytes: config.events.rotateBytes, daily: config.events.rotateDaily, keep: config.events.keep },
    onError: (err) => {
      if (!eventErrorLogged) log(`relaytrap: event log ${eventPath}: ${err.message}`);
      eventErrorLogged = true;
    },
  });
  events.addSink(jsonl);
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

  let pruneTimer: NodeJS.Timeout | null = null;
  let pruning: Promise<void> | null = null;
  /** `full`: a write failed for lack of space, so give up the oldest data until a slice of the cap is free again. */
  const prune = (full = false): Promise<void> => {
    const freeBytes = !full ? 0 : st.maxDatabaseBytes > 0 ? Math.ceil(st.maxDatabaseBytes * FULL_FREE_FRACTION) : Math.ceil(writer.rawBytes() * FULL_FREE_FRACTION);
    const olderThan = st.maxAgeDays > 0 ? Date.now() - st.maxAgeDays * 86_400_000 : null;
    pruning ??= writer
      .prune({ olderThan, importedBy: st.pruneImported, quotaBytes: st.quotaBytes, freeBytes })
      .then(
        (r) => {
          // Deleting what was trapped is never silent: one line and one event per reason.
          for (const p of r.reports) {
            const why =
              p.reason === "age"
                ? `age, received before ${new Date(olderThan ?? 0).toISOString()} (storage.maxAgeDays ${st.maxAgeDays}${st.pruneImported === "received-time" ? ", imports by received time" : ""})`
                : p.reason === "quota"
                  ? `bodies past storage.quotaBytes ${st.quotaBytes}`
                  : `storage full${st.maxDatabaseBytes > 0 ? ` (storage.maxDatabaseBytes ${st.maxDatabaseBytes})` : " (disk)"}`;
            const bodies = p.bodies > 0 ? `, ${p.bodies} bodies` : "";
            log(`relaytrap: pruned ${p.messages} messages, ${p.sessions} sessions${bodies} (${p.bytes} bytes): ${why}`);
            events.emit("store.pruned", STORE_CONTEXT, {
              reason: p.reason,
              messages: p.messages,
              sessions: p.sessions,
              bodies: p.bodies,
              bytes: p.bytes,
              older_than: p.reason === "age" && olderThan !== null ? new Date(olderThan).toISOString() : undefined,
            });
          }
        },
        (err: Error) => log(`relaytrap: prune failed: ${err.message}`),
      )
      .finally(() => (pruning = null));
    return pruning;
  };

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
    onStorageFull: () => void prune(true),
    onBodyStored: () => {
      if (writer.rawBytes() > st.quotaBytes) void prune();
    },
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

  const keyPair = await loadOrCreateCert({ dataDir, hostname, cert: config.tls.cert, key: config.tls.key });
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
  // Nothing a proxy client asks for leaves the machine: mail ports go to `smtp` in-process, the rest is answered here.
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

  const listeners: BoundListener[] = [];
  const web = createWebServer({
    config,
    reader,
    events,
    activeSessions: () => smtp.activeSessions,
    analysisGivenUp: () => analysis.givenUp,
    log,
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
    // The persisted delivery kill switch ("engaged" = delivery off); the engine reads it before every send.
    killSwitch: {
      get: () => readDeliveryStatus(dataDir).switch === "off",
      set: (engaged) => setDeliverySwitch(dataDir, engaged ? "off" : "on"),
    },
  });
  const shutdownOnError = async () => {
    await web.close();
    await proxy.close();
    await smtp.close(0);
    await analysis.close();
    await writer.close();
    reader.close();
    await events.close();
  };
  try {
    for (const hp of config.smtpListen) listeners.push(await smtp.listen("smtp", hp));
    for (const hp of config.smtpsListen) listeners.push(await smtp.listen("smtps", hp));
    for (const hp of config.proxyListen) listeners.push(await proxy.listen(hp));
    listeners.push({ kind: "web", ...(await web.listen(config.webListen)) });
  } catch (err) {
    await shutdownOnError();
    throw err;
  }

  void prune();
  pruneTimer = setInterval(() => void prune(), st.pruneIntervalMs).unref();
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
    reopenLogs: () => jsonl.reopen(),
    prune,
    async close() {
      if (pruneTimer) clearInterval(pruneTimer);
      await web.close();
      await proxy.close();
      await smtp.close(SHUTDOWN_GRACE_MS);
      await analysis.close();
      await delivery.close();
      await collector?.close();
      await pruning;
      await writer.close();
      reader.close();
      await events.close();
    },
  };
}
