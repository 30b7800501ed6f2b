// Event dispatcher: stamps the common fields and hands each event to every sink; a failing sink is isolated and counted.
import type { EventId } from "./catalog.js";

export interface EventContext {
  session: string;
  protocol: string;
  src_ip: string;
  src_port: number;
  dest_ip: string;
  dest_port: number;
}

export interface RelaytrapEvent extends EventContext {
  eventid: EventId;
  timestamp: string;
  sensor: string;
  [field: string]: unknown;
}

export interface EventSink {
  name: string;
  write(event: RelaytrapEvent): void;
  close?(): Promise<void> | void;
}

export interface Dispatcher {
  emit(id: EventId, ctx: EventContext, fields?: Record<string, unknown>): void;
  addSink(sink: EventSink): void;
  /** Sink failures by sink name, for metrics. */
  readonly failures: Map<string, number>;
  close(): Promise<void>;
}

export interface DispatcherOptions {
  sensor: string;
  onSinkError?: (sink: string, err: unknown) => void;
  /** Fields derived from the event before the sinks see it (the offline `geo` of connect events); never overwrites. */
  decorate?: (event: RelaytrapEvent) => Record<string, unknown> | undefined;
}

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const sinks: EventSink[] = [];
  const failures = new Map<string, number>();
  return {
    failures,
    addSink(sink) {
      sinks.push(sink);
    },
    emit(id, ctx, fields) {
      const event: RelaytrapEvent = {
        eventid: id,
        timestamp: new Date().toISOString(),
        sensor: opts.sensor,
        session: ctx.session,
        protocol: ctx.protocol,
        src_ip: ctx.src_ip,
        src_port: ctx.src_port,
        dest_ip: ctx.dest_ip,
        dest_port: ctx.dest_port,
      };
      // Per-event fields follow the common ones and can never overwrite them.
      if (fields) for (const [k, v] of Object.entries(fields)) if (!(k in event) && v !== undefined) event[k] = v;
      const extra = opts.decorate?.(event);
      if (extra) for (const [k, v] of Object.entries(extra)) if (!(k in event) && v !== undefined) event[k] = v;
      for (const sink of sinks) {
        try {
          sink.write(event);
        } catch (err) {
          failures.set(sink.name, (failures.get(sink.name) ?? 0) + 1);
          opts.onSinkError?.(sink.name, err);
        }
      }
    },
    async close() {
      for (const sink of sinks) {
        try {
          await sink.close?.();
        } catch (err) {
          opts.onSinkError?.(sink.name, err);
        }
      }
    },
  };
}
