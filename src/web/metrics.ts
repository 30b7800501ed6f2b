// Prometheus metrics (prom-client), one registry per sensor, fed by an event sink. No IP addresses as label values.
import { Counter, Gauge, Registry } from "prom-client";
import type { Dispatcher, EventSink } from "../events/dispatcher.js";

export interface Metrics {
  registry: Registry;
  sink: EventSink;
  /** Prometheus text exposition. */
  render(): Promise<string>;
}

const KINDS = new Set(["relay-test", "spam", "other", "unknown"]);

export function createMetrics(opts: { events: Dispatcher; activeSessions: () => number; sseClients: () => number; analysisGivenUp?: () => number }): Metrics {
  const registry = new Registry();
  const sessions = new Counter({ name: "relaytrap_smtp_sessions_total", help: "SMTP sessions accepted", labelNames: ["channel"], registers: [registry] });
  const messages = new Counter({ name: "relaytrap_smtp_messages_total", help: "Messages stored, by kind", labelNames: ["kind"], registers: [registry] });
  const relayTests = new Counter({
    name: "relaytrap_smtp_relay_tests_total",
    help: "Relay-test messages stored, by whether they named a sensor address",
    labelNames: ["matches_sensor"],
    registers: [registry],
  });
  const bytes = new Counter({ name: "relaytrap_smtp_message_bytes_total", help: "Bytes of messages received (stored or not)", registers: [registry] });
  const dropped = new Counter({ name: "relaytrap_smtp_dropped_bodies_total", help: "Message bodies not kept, by reason", labelNames: ["reason"], registers: [registry] });
  const deliveries = new Counter({ name: "relaytrap_delivery_events_total", help: "Delivery events, by event id", labelNames: ["event"], registers: [registry] });
  const proxy = new Counter({ name: "relaytrap_proxy_events_total", help: "Proxy events, by event id", labelNames: ["event"], registers: [registry] });
  let givenUpSeen = 0;
  new Counter({
    name: "relaytrap_analysis_given_up_total",
    help: "Messages stored unparsed: their parse passed analysis.timeoutMs or analysis.maxHeapMb",
    registers: [registry],
    collect() {
      const n = opts.analysisGivenUp?.() ?? 0;
      if (n > givenUpSeen) this.inc(n - givenUpSeen);
      givenUpSeen = n;
    },
  });
  new Gauge({
    name: "relaytrap_smtp_active_connections",
    help: "SMTP sessions open now",
    registers: [registry],
    collect() {
      this.set(opts.activeSessions());
    },
  });
  new Gauge({
    name: "relaytrap_web_sse_clients",
    help: "Browsers following the live event stream",
    registers: [registry],
    collect() {
      this.set(opts.sseClients());
    },
  });
  // The dispatcher counts sink failures itself; mirror its totals into a counter when scraped.
  const seen = new Map<string, number>();
  new Counter({
    name: "relaytrap_events_sink_failures_total",
    help: "Events a sink failed to take, by sink",
    labelNames: ["sink"],
    registers: [registry],
    collect() {
      for (const [sink, n] of opts.events.failures) {
        const delta = n - (seen.get(sink) ?? 0);
        if (delta > 0) this.inc({ sink }, delta);
        seen.set(sink, n);
      }
    },
  });

  const sink: EventSink = {
    name: "metrics",
    write(e) {
      switch (e.eventid) {
        case "smtp.session.connect":
          sessions.inc({ channel: typeof e.channel === "string" ? e.channel.slice(0, 32) : "direct" });
          return;
        case "smtp.message.stored": {
          const kind = typeof e.kind === "string" && KINDS.has(e.kind) ? e.kind : "unknown";
          messages.inc({ kind });
          if (kind === "relay-test") relayTests.inc({ matches_sensor: e.matches_sensor === true ? "true" : "false" });
          if (typeof e.size === "number") bytes.inc(e.size);
          return;
        }
        case "smtp.message.dropped":
          dropped.inc({ reason: typeof e.reason === "string" ? e.reason.slice(0, 32) : "unknown" });
          if (e.message === undefined && typeof e.size === "number") bytes.inc(e.size);
          return;
      }
      const id = e.eventid as string;
      if (id.startsWith("delivery.")) deliveries.inc({ event: id });
      else if (id.startsWith("proxy.")) proxy.inc({ event: id });
    },
  };
  opts.events.addSink(sink);
  return { registry, sink, render: () => registry.metrics() };
}
