// Delivery transport: speaks SMTP (nodemailer's SMTPConnection) over a socket that net/outbound.ts opened to a
// destination its allow-list approved. nodemailer never resolves or dials anything itself (it is handed the
// connection), and the message goes out as given: the stored raw bytes with our Received header in front.
import SMTPConnection from "nodemailer/lib/smtp-connection";
import type { Outbound, Route } from "../net/outbound.js";
import { formatHostPort } from "../net/address.js";

export interface SendRequest {
  /** Envelope sender ("" for the null sender). */
  from: string;
  to: string;
  /** The complete message: Received header + stored raw. */
  data: Buffer;
}

export interface SendResult {
  route: string;
  response: string;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** 5xx or a refused destination: retrying will not help. */
    readonly permanent: boolean,
    readonly refused = false,
  ) {
    super(message);
  }
}

export interface Transport {
  send(req: SendRequest): Promise<SendResult>;
}

export interface TransportOptions {
  outbound: Outbound;
  /** EHLO name: the persona's host name. */
  name: string;
  /** Connect, greeting and inactivity timeout; a whole attempt is bounded by a few of these. */
  timeoutMs: number;
}

/** A whole SMTP transaction may take this many timeouts before it is cut. */
const ATTEMPT_TIMEOUTS = 4;

function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  return at >= 0 ? address.slice(at + 1) : "";
}

function routeName(r: Route): string {
  return `${r.via}:${r.host}[${formatHostPort(r.ip, r.port)}]`;
}

function sendOver(route: Route, o: TransportOptions, req: SendRequest): Promise<string> {
  return o.outbound.connect(route).then(
    (socket) =>
      new Promise<string>((resolve, reject) => {
        const conn = new SMTPConnection({
          connection: socket,
          host: route.host,
          port: route.port,
          name: o.name,
          connectionTimeout: o.timeoutMs,
          greetingTimeout: o.timeoutMs,
          socketTimeout: o.timeoutMs,
          dnsTimeout: o.timeoutMs,
          opportunisticTLS: true,
          // A relay sends opportunistically and does not check certificates (Postfix smtp_tls_security_level=may).
          tls: { rejectUnauthorized: false, ...(route.via === "smarthost" || /^\d|:/.test(route.host) ? {} : { servername: route.host }) },
          logger: false,
        });
        let done = false;
        const finish = (err: Error | null, response?: string) => {
          if (done) return;
          done = true;
          clearTimeout(deadline);
          if (err) {
            conn.close();
            const code = (err as { responseCode?: number }).responseCode;
            reject(new DeliveryError(err.message, typeof code === "number" && code >= 500));
          } else {
            conn.quit();
            resolve(response ?? "");
          }
        };
        const deadline = setTimeout(() => finish(new Error(`timed out after ${o.timeoutMs * ATTEMPT_TIMEOUTS} ms`)), o.timeoutMs * ATTEMPT_TIMEOUTS);
        conn.once("error", (err: Error) => finish(err));
        conn.once("end", () => finish(new Error("connection closed")));
        conn.connect((err?: Error | null) => {
          if (err) return finish(err);
          const eightBit = req.data.some((b) => b > 0x7f);
          conn.send({ from: req.from === "" ? false : req.from, to: [req.to], size: req.data.length, use8BitMime: eightBit }, req.data, (e, info) => {
            if (e) return finish(e);
            if (info.rejected.length) return finish(Object.assign(new Error(`recipient rejected: ${info.rejectedErrors?.[0]?.message ?? ""}`), { responseCode: (info.rejectedErrors?.[0] as { responseCode?: number } | undefined)?.responseCode }));
            finish(null, info.response);
          });
        });
      }),
  );
}

export function createTransport(o: TransportOptions): Transport {
  return {
    async send(req) {
      let routes: Route[];
      try {
        routes = await o.outbound.routes(domainOf(req.to));
      } catch (err) {
        const e = err as Error & { permanent?: boolean };
        throw new DeliveryError(e.message, e.permanent === true, e.permanent === true);
      }
      let last: DeliveryError | null = null;
      for (const route of routes) {
        try {
          const response = await sendOver(route, o, req);
          return { route: routeName(route), response };
        } catch (err) {
          const e = err as Error & { permanent?: boolean };
          last = err instanceof DeliveryError ? err : new DeliveryError(e.message, e.permanent === true, e.permanent === true);
          last.message = `${routeName(route)}: ${last.message}`;
          // A 5xx answer is the destination's word on this message: do not try the next MX.
          if (last.permanent && !last.refused) throw last;
        }
      }
      throw last ?? new DeliveryError("no route", false);
    },
  };
}
