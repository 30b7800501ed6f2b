// One SMTP session: the connection state (peer, TLS, AUTH, counters), one Transaction (envelope + body), the handler
// table's dispatch and the reply writer. Input: pump.ts; clocks: timers.ts; transcript: record.ts. Storing is the hooks'.
import { isUtf8 } from "node:buffer";
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { EventId } from "../events/catalog.js";
import { sessionId } from "../events/session-id.js";
import { normalizeIp } from "../net/address.js";
import type { EventContext } from "../events/dispatcher.js";
import type { AuthAttempt, TlsInfo } from "../store/types.js";
import { HANDLERS, authContinue } from "./commands/index.js";
import { CappedBody, DataReader } from "./data-reader.js";
import type { SessionOptions } from "./options.js";
import { renderReply, type ReplyKey, type ReplyVars } from "./personas.js";
import { InputPump } from "./pump.js";
import { createTranscript, sessionRecord, type Transcript } from "./record.js";
import { createSessionTimers, type SessionTimers } from "./timers.js";

export type { AuthOptions, CompletedMessage, SessionOptions, SmtpHooks, StoreOutcome } from "./options.js";

export type Mode = "command" | "data" | "bdat" | "auth" | "closed";

export class Transaction {
  mailFrom: string | null = null;
  rcptTo: string[] = [];
  data: DataReader | null = null;
  bdat: CappedBody | null = null;
  /** Bytes still to read in the current BDAT chunk. */
  bdatRemaining = 0;
  bdatLast = false;
  /** BDAT chunk bytes that followed a failed BDAT command and are being skipped. */
  bdatDiscard = false;
}

export interface AuthExchange {
  mechanism: string;
  step: number;
  username: string | null;
  challenge?: string;
}

export class Session {
  readonly id = sessionId();
  readonly startedAt = Date.now();
  readonly ctx: EventContext;
  readonly o: SessionOptions;
  socket: Socket;
  mode: Mode = "command";
  helo: string | null = null;
  esmtp = false;
  tls: TlsInfo | null = null;
  authenticated = false;
  auth: AuthAttempt[] = [];
  authExchange: AuthExchange | null = null;
  rdns: string | null = null;
  txn = new Transaction();
  txnCount = 0;
  messages = 0;
  commands = 0;
  errorCount = 0;
  junkCount = 0;
  unknownCount = 0;
  readonly transcript: Transcript;
  closeReason = "client-closed";
  /** Set while a completed message is being stored (the reply waits for it). */
  storing: Promise<unknown> | null = null;

  readonly input = new InputPump(this);
  readonly timers: SessionTimers;
  private out: string[] = [];
  /** Bytes (UTF-16 units, near enough) of the replies in `out`. */
  private outBytes = 0;
  private outDelayMs = 0;
  private ended = false;
  private endedRecorded = false;

  constructor(socket: Socket, options: SessionOptions) {
    this.socket = socket;
    this.o = options;
    const peer = options.peer ?? {
      srcIp: normalizeIp(socket.remoteAddress),
      srcPort: socket.remotePort ?? 0,
      destIp: normalizeIp(socket.localAddress),
      destPort: socket.localPort ?? 0,
    };
    this.ctx = {
      session: this.id,
      protocol: options.protocol,
      src_ip: peer.srcIp,
      src_port: peer.srcPort,
      dest_ip: peer.destIp,
      dest_port: peer.destPort,
    };
    this.timers = createSessionTimers(options.limits, (reason) => this.onTimeout(reason), this.startedAt);
    this.transcript = createTranscript(options.limits.maxTranscriptBytes, this.startedAt);
    options.rdns?.then((name) => {
      this.rdns = name;
      if (name) this.emit("smtp.rdns", { hostname: name });
    }, () => {});
  }

  /** Starts the session: greets the client. Call once the socket is ready (after the TLS handshake for SMTPS). */
  start(): void {
    if (this.socket instanceof TLSSocket) this.tls = tlsInfo(this.socket, true);
    this.attach(this.socket);
    this.emit("smtp.session.connect", { channel: this.o.channel, tls: this.tls !== null, target: this.o.target ?? undefined });
    if (this.tls) this.emit("smtp.tls.established", { tls_version: this.tls.version, cipher: this.tls.cipher, sni: this.tls.sni });
    this.reply("greeting");
    void this.flushOut();
  }

  private attach(sock: Socket): void {
    this.timers.startIdle();
    sock.on("data", this.input.onData);
    sock.on("error", this.onError);
    sock.on("close", this.onClose);
  }

  private detach(sock: Socket): void {
    sock.off("data", this.input.onData);
    sock.off("error", this.onError);
    sock.off("close", this.onClose);
  }

  private readonly onError = (): void => {
    this.closeReason = "socket-error";
  };
  private readonly onClose = (): void => this.finish();

  /** Date.now() of the last complete command line or message data: the server's stress timeout and eviction read it. */
  get lastActive(): number {
    return this.timers.lastActive;
  }

  /** Ends the session as a timeout does (persona's 421), e.g. when the server evicts it under stress. */
  expire(reason: string): void {
    this.onTimeout(reason);
  }

  /** Bytes this session holds for its client: unprocessed input, queued replies, and replies the socket has not sent. */
  get bufferedBytes(): number {
    return this.input.length + this.outBytes + (this.socket.destroyed ? 0 : this.socket.writableLength);
  }

  private onTimeout(reason: string): void {
    if (this.mode === "closed") return;
    this.closeReason = reason;
    if (this.mode === "data" || this.mode === "bdat") this.dropMessage("timeout");
    this.reply("timeout");
    this.close(reason);
  }

  // ---- commands ----------------------------------------------------------------------------------------------

  /** Bytes of replies queued and not yet written (the pump's output backpressure reads it). */
  get outputBytes(): number {
    return this.outBytes;
  }

  /** One command line (or AUTH exchange line) through the handler table. */
  handleLine(raw: Buffer): void | Promise<void> {
    const persona = this.o.persona;
    if (this.mode === "auth") {
      const line = raw.toString("utf8");
      this.record("c", line);
      return authContinue(this, line);
    }
    this.commands++;
    let bytes = raw;
    if (persona.checkUtf8 && !isUtf8(bytes)) {
      const shown = bytes.toString("latin1");
      this.record("c", shown);
      this.emit("smtp.command", { verb: "", arg: shown.slice(0, 1024) });
      return this.error("badUtf8", { arg: shown.slice(0, 256) });
    }
    if (persona.nulEndsLine) {
      const nul = bytes.indexOf(0);
      if (nul !== -1) bytes = bytes.subarray(0, nul);
    }
    const line = bytes.toString("utf8");
    this.record("c", line);
    const m = /^[ \t]*(\S*)[ \t]*(.*)$/s.exec(line);
    const word = m?.[1] ?? "";
    const verb = word.toUpperCase();
    const arg = (m?.[2] ?? "").replace(/[ \t]+$/, "");
    this.emit("smtp.command", { verb: verb.slice(0, 64), arg: verb === "AUTH" ? arg.split(" ")[0] : arg.slice(0, 1024) });
    if (verb === "") return this.error("emptyLine");
    if (persona.forbiddenVerbs.includes(verb) || persona.forbiddenPattern?.test(verb)) {
      this.reply("forbidden");
      return this.close("forbidden-command");
    }
    const handler = Object.hasOwn(HANDLERS, verb) ? HANDLERS[verb] : undefined;
    if (!handler) {
      if (persona.maxUnknownCommands > 0 && ++this.unknownCount > persona.maxUnknownCommands) {
        this.reply("tooManyUnknown");
        return this.close("too-many-unknown-commands");
      }
      return this.error("unknown", { arg: line.slice(0, 256) });
    }
    const done = handler(this, arg, verb);
    if (persona.junkVerbs.includes(verb) && ++this.junkCount > this.o.limits.junkCommandLimit) this.errorCount++;
    return done;
  }

  // ---- DATA / BDAT ---------------------------------------------------------------------------------------------

  startData(): void {
    this.txn.data = new DataReader(this.o.limits.maxMessageBytes);
    this.mode = "data";
    this.timers.startData();
  }

  startBdat(size: number, last: boolean, discard: boolean): void {
    if (!discard && !this.txn.bdat) this.txn.bdat = new CappedBody(this.o.limits.maxMessageBytes);
    this.txn.bdatRemaining = size;
    this.txn.bdatLast = last;
    this.txn.bdatDiscard = discard;
    this.mode = "bdat";
    if (!this.timers.dataRunning) this.timers.startData();
  }

  /** Reads BDAT chunk bytes: "more" while the chunk is incomplete, "last" when the message is complete. */
  consumeBdat(): "more" | "chunk" | "last" {
    const txn = this.txn;
    const chunk = this.input.take(txn.bdatRemaining);
    if (!txn.bdatDiscard) txn.bdat!.add(chunk);
    txn.bdatRemaining -= chunk.length;
    if (txn.bdatRemaining > 0) return "more";
    this.mode = "command";
    if (txn.bdatDiscard) {
      txn.bdatDiscard = false;
      this.timers.stopData();
      return "chunk";
    }
    this.record("c", `[BDAT chunk, ${txn.bdat!.size} bytes so far]`);
    if (txn.bdatLast) return "last";
    if (txn.bdat!.tooBig) {
      this.dropMessage("size-limit");
      this.error("messageTooBig");
      this.resetTransaction();
    } else this.reply("bdatChunk", { size: txn.bdat!.size });
    return "chunk";
  }

  async endData(): Promise<void> {
    const d = this.txn.data!;
    this.mode = "command";
    this.record("c", `[message ${d.size} bytes]`);
    await this.completeMessage(d.tooBig, d.size, () => d.body(), "queued");
  }

  async endBdat(): Promise<void> {
    const b = this.txn.bdat!;
    await this.completeMessage(b.tooBig, b.size, () => b.body(), "bdatQueued");
  }

  private async completeMessage(tooBig: boolean, size: number, body: () => Buffer, okReply: "queued" | "bdatQueued"): Promise<void> {
    this.timers.stopData();
    const txn = this.txn;
    if (tooBig) {
      this.o.hooks.messageDropped(this, "size-limit", size);
      this.error("messageTooBig");
      this.resetTransaction();
      return;
    }
    const queueId = this.o.persona.queueId();
    await this.flushOut();
    const raw = body();
    // Postfix counts the CRLF it appends to a BDAT message that does not end with one.
    const added = this.o.persona.bdatCountsAddedCrlf && raw.length > 0 && raw[raw.length - 1] !== 0x0a ? 2 : 0;
    const store = this.o.hooks.storeMessage({
      session: this,
      queueId,
      receivedAt: Date.now(),
      helo: this.helo,
      mailFrom: txn.mailFrom ?? "",
      rcptTo: txn.rcptTo,
      raw,
    });
    this.storing = store;
    const outcome = await store.finally(() => (this.storing = null));
    this.resetTransaction();
    if (this.mode === "closed") return;
    if (outcome.ok) {
      this.messages++;
      this.reply(okReply, { qid: queueId, size: raw.length + added });
    } else {
      this.o.hooks.messageDropped(this, outcome.reason === "disk-full" ? "storage-full" : "storage-error", size);
      this.error(outcome.reason === "disk-full" ? "storageFull" : "storageError");
    }
  }

  private dropMessage(reason: string): void {
    const size = this.txn.data?.size ?? this.txn.bdat?.size ?? 0;
    this.o.hooks.messageDropped(this, reason, size);
    this.timers.stopData();
  }

  /** The one place a transaction ends: RSET, HELO/EHLO, end of DATA/BDAT, STARTTLS. */
  resetTransaction(): void {
    this.txn = new Transaction();
  }

  // ---- replies -------------------------------------------------------------------------------------------------

  vars(extra?: Partial<ReplyVars>): ReplyVars {
    // A session diverted from the proxy trap speaks as the host the client meant to reach, in every reply.
    return { host: this.o.greetingHost ?? this.o.hostname, ip: this.ctx.src_ip, rdns: this.rdns, ...extra };
  }

  /** Queues a reply. Once the client has made softErrorLimit errors, every reply is delayed, as Postfix does. */
  reply(key: ReplyKey, extra?: Partial<ReplyVars>): void {
    if (this.errorCount >= this.o.limits.softErrorLimit) this.outDelayMs += this.o.limits.errorSleepMs;
    this.sendLines(renderReply(this.o.persona, key, this.vars(extra)));
  }

  /** An error reply: counts toward the error limits. */
  error(key: ReplyKey, extra?: Partial<ReplyVars>): void {
    this.reply(key, extra);
    this.errorCount++;
  }

  /** Adds a delay before the next flush (e.g. the authentication failure delay). */
  delay(ms: number): void {
    this.outDelayMs += ms;
  }

  sendLines(lines: string[]): void {
    for (const l of lines) {
      this.record("s", l);
      this.out.push(l + "\r\n");
      this.outBytes += l.length + 2;
    }
  }

  /** Writes buffered replies in one write (pipelined replies go out together), after any persona delay. */
  async flushOut(): Promise<void> {
    let delay = this.outDelayMs;
    this.outDelayMs = 0;
    if (this.o.jitterMs > 0) delay += Math.floor(Math.random() * this.o.jitterMs);
    if (delay > 0 && this.out.length > 0) await new Promise((r) => setTimeout(r, delay));
    if (this.out.length === 0 || this.socket.destroyed) {
      this.out = [];
      this.outBytes = 0;
      return;
    }
    const data = this.out.join("");
    this.out = [];
    this.outBytes = 0;
    this.socket.write(data);
    if (this.mode === "closed" && !this.ended) {
      this.ended = true;
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 5000).unref();
    }
  }

  /** Ends the session after the buffered replies are written. */
  close(reason: string): void {
    this.closeReason = reason;
    this.mode = "closed";
    this.input.clear();
    // Ended (a timeout, an eviction) while the client was not taking its replies: a 421 could not reach it either.
    if (this.input.outputBlocked) this.socket.destroy();
    else if (!this.input.running) void this.flushOut();
  }

  // ---- TLS -----------------------------------------------------------------------------------------------------

  /** STARTTLS: everything the client pipelined after the command is discarded (command injection defence). */
  async upgradeTls(): Promise<void> {
    const ctx = this.o.secureContext!;
    await this.flushOut();
    this.input.clear();
    const plain = this.socket;
    this.detach(plain);
    const tlsSock = new TLSSocket(plain, { isServer: true, secureContext: ctx });
    this.socket = tlsSock;
    tlsSock.on("error", (err) => {
      if (this.tls === null) this.emit("smtp.tls.failed", { reason: err.message.slice(0, 200) });
      this.closeReason = "tls-error";
      tlsSock.destroy();
    });
    plain.on("close", this.onClose);
    await new Promise<void>((resolve) => {
      tlsSock.once("secure", () => resolve());
      tlsSock.once("close", () => resolve());
    });
    if (tlsSock.destroyed || this.mode === "closed") return;
    plain.off("close", this.onClose);
    this.tls = tlsInfo(tlsSock, false);
    this.emit("smtp.tls.established", { tls_version: this.tls.version, cipher: this.tls.cipher, sni: this.tls.sni });
    this.helo = null;
    this.esmtp = false;
    this.resetTransaction();
    this.attach(tlsSock);
  }

  // ---- bookkeeping ---------------------------------------------------------------------------------------------

  record(dir: "c" | "s", line: string): void {
    this.transcript.record(dir, line);
  }

  emit(id: EventId, fields?: Record<string, unknown>): void {
    this.o.hooks.emit(id, this.ctx, fields);
  }

  recordAuth(a: Omit<AuthAttempt, "t">): void {
    const attempt = { ...a, t: Date.now() - this.startedAt };
    this.auth.push(attempt);
    this.emit("smtp.auth.attempt", { mechanism: a.mechanism, username: a.username, password: a.password, accepted: a.accepted });
  }

  private finish(): void {
    if (this.endedRecorded) return;
    this.endedRecorded = true;
    const wasInMessage = this.mode === "data" || this.mode === "bdat";
    if (wasInMessage) this.dropMessage("client-disconnect");
    this.mode = "closed";
    this.ended = true;
    this.timers.stop();
    this.socket.destroy();
    const endedAt = Date.now();
    this.emit("smtp.session.closed", { duration_ms: endedAt - this.startedAt, reason: this.closeReason, messages: this.messages, commands: this.commands });
    this.o.hooks.sessionEnded(sessionRecord(this, endedAt));
  }
}

function tlsInfo(s: TLSSocket, implicit: boolean): TlsInfo {
  const c = s.getCipher?.();
  const sni = (s as TLSSocket & { servername?: string | false }).servername;
  return { version: s.getProtocol?.() ?? null, cipher: c?.name ?? null, sni: typeof sni === "string" ? sni : null, implicit };
}
