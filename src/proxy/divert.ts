// The diversion of a CONNECT to a mail port into the in-process SMTP trap (implicit TLS on the SMTPS ports): the
// caller has sent the CONNECT's success reply and let go of the socket.
import type { Socket } from "node:net";
import type { EventId } from "../events/catalog.js";
import type { EventContext } from "../events/dispatcher.js";
import type { HandOff } from "../smtp/server.js";
import type { ProxyProtocol } from "./types.js";

/** A requested host the SMTP greeting may name: a plain name or address. */
const SAFE_GREETING_HOST = /^[A-Za-z0-9.:-]{1,253}$/;

export interface Diversion {
  smtp: { handleSocket(socket: Socket, handOff: HandOff): void };
  implicitTlsPorts: readonly number[];
  emit(id: EventId, ctx: EventContext, fields?: Record<string, unknown>): void;
  ctx: EventContext;
  protocol: ProxyProtocol;
  channel: "http-connect" | "socks4" | "socks5";
  /** host:port as requested. */
  target: string;
  host: string;
  port: number;
  /** Bytes the client sent after its CONNECT: the SMTP session reads them first. */
  rest: Buffer;
}

export function divertToSmtp(socket: Socket, d: Diversion): void {
  // No pause: the SMTP session attaches its own data listener synchronously below, so nothing is lost.
  if (d.rest.length > 0) socket.unshift(d.rest);
  const implicitTls = d.implicitTlsPorts.includes(d.port);
  d.emit("proxy.smtp.diverted", d.ctx, { proxy_protocol: d.protocol, target: d.target, implicit_tls: implicitTls });
  const handOff: HandOff = {
    channel: d.channel,
    target: d.target,
    peer: { srcIp: d.ctx.src_ip, srcPort: d.ctx.src_port, destIp: d.ctx.dest_ip, destPort: d.ctx.dest_port },
    implicitTls,
  };
  // The greeting names the host the client meant to reach, when it is a plain name or address.
  if (SAFE_GREETING_HOST.test(d.host)) handOff.greetingHost = d.host;
  d.smtp.handleSocket(socket, handOff);
}
