// The session registry and its limits (issue 14): per-IP and total caps, eviction when full, and the stress sweep that
// cuts idle time once sessions pass limits.stressHighWaterPercent of limits.maxSessions (Postfix's stress mode).
import type { Socket } from "node:net";
import type { Limits } from "./limits.js";
import { renderReply, type Persona } from "./personas.js";
import type { Session } from "./session.js";

/** How often, under stress, sessions are checked against limits.stressIdleTimeoutMs (at most; a quarter of it if less). */
export const STRESS_SWEEP_MS = 1000;
/** The stress sweep never runs more often than this. */
const MIN_SWEEP_MS = 10;
/** How long a refused client may take to read its 421 before its socket is destroyed. */
const REFUSAL_LINGER_MS = 2000;

/** What eviction needs to know of a session. */
export interface EvictionCandidate {
  readonly lastActive: number;
  /** Set while a message is being stored: such a session is never evicted. */
  readonly storing: unknown;
}

/**
 * The session to evict when full: the longest-idle one of the source holding the most sessions (the first such source
 * on a tie), never one storing a message. Null if that source has none to give.
 */
export function chooseEvictee<T extends EvictionCandidate>(sources: Iterable<ReadonlySet<T>>): T | null {
  let source: ReadonlySet<T> | undefined;
  for (const set of sources) if (!source || set.size > source.size) source = set;
  let victim: T | null = null;
  for (const s of source ?? []) if (!s.storing && (victim === null || s.lastActive < victim.lastActive)) victim = s;
  return victim;
}

export interface AdmissionOptions {
  limits: Limits;
  persona: Persona;
  hostname: string;
}

export interface Admission {
  /** Live sessions (evicted ones whose 421 still drains are no longer counted). */
  readonly sessions: ReadonlySet<Session>;
  /** Admits a new client from ip, evicting one if full, or answers it with the persona's 421 and returns false. */
  admit(socket: Socket, ip: string): boolean;
  /** Counts a started session in (and starts the stress sweep when it brings the count to the high-water mark). */
  add(session: Session): void;
  /** Takes a session out of the counts (at its socket's close, or when it is evicted and its 421 still drains). */
  release(session: Session): void;
  /** From now on every client is refused; the sweep stops. */
  close(): void;
}

export function createAdmission(o: AdmissionOptions): Admission {
  const { limits } = o;
  const sessions = new Set<Session>();
  /** Live sessions by client address (the per-IP limit, and eviction's most-connected source). */
  const perIp = new Map<string, Set<Session>>();
  /** Sessions at or beyond this count are "under stress": idle time is cut to stressIdleTimeoutMs (Postfix). */
  const stressAt = Math.max(1, Math.ceil((limits.maxSessions * limits.stressHighWaterPercent) / 100));
  let sweeper: NodeJS.Timeout | null = null;
  let closing = false;

  function release(session: Session): void {
    if (!sessions.delete(session)) return;
    const ip = session.ctx.src_ip;
    const set = perIp.get(ip);
    set?.delete(session);
    if (set?.size === 0) perIp.delete(ip);
  }

  /** Full: makes room (Postfix under stress would have timed the victim out after 10 s). False if none could go. */
  function evictOne(): boolean {
    const victim = chooseEvictee(perIp.values());
    if (victim === null) return false;
    release(victim);
    victim.expire("stress-evicted");
    return true;
  }

  function stopSweep(): void {
    if (sweeper) clearInterval(sweeper);
    sweeper = null;
  }

  /** Under stress, ends sessions idle for longer than stressIdleTimeoutMs; stops itself when the stress is over. */
  function sweep(): void {
    if (sessions.size < stressAt || closing) return stopSweep();
    const cutoff = Date.now() - limits.stressIdleTimeoutMs;
    for (const s of [...sessions]) {
      if (s.lastActive >= cutoff || s.storing) continue;
      release(s);
      s.expire("stress-idle-timeout");
    }
  }

  return {
    sessions,
    admit(socket, ip) {
      const vars = { host: o.hostname, ip };
      let refuse: "serviceUnavailable" | "tooManyConnections" | null = null;
      if (closing) refuse = "serviceUnavailable";
      else if ((perIp.get(ip)?.size ?? 0) >= limits.maxSessionsPerIp) refuse = "tooManyConnections";
      else if (sessions.size >= limits.maxSessions && !evictOne()) refuse = "serviceUnavailable";
      if (refuse === null) return true;
      socket.on("error", () => {});
      socket.end(renderReply(o.persona, refuse, vars).join("\r\n") + "\r\n");
      setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
      return false;
    },
    add(session) {
      const ip = session.ctx.src_ip;
      sessions.add(session);
      let set = perIp.get(ip);
      if (!set) perIp.set(ip, (set = new Set()));
      set.add(session);
      if (sessions.size >= stressAt && sweeper === null) {
        sweeper = setInterval(sweep, Math.max(MIN_SWEEP_MS, Math.min(STRESS_SWEEP_MS, Math.floor(limits.stressIdleTimeoutMs / 4)))).unref();
      }
    },
    release,
    close() {
      closing = true;
      stopSweep();
    },
  };
}
