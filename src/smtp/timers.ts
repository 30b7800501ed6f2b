// A session's clocks: the whole-session cap, the idle timeout (counted from the last complete command or message data,
// not the last byte) and the DATA/BDAT phase timeout. Each one ends the session through onTimeout(reason).
import type { Limits } from "./limits.js";

export interface SessionTimers {
  /** Date.now() of the last complete command line or message data: the server's stress timeout and eviction read it. */
  readonly lastActive: number;
  /** Starts the idle clock (once; a STARTTLS re-attach keeps it running). */
  startIdle(): void;
  /** The client did something that counts (a whole command line, message data): the idle clock starts again. */
  touch(): void;
  startData(): void;
  readonly dataRunning: boolean;
  stopData(): void;
  /** Stops every clock (the session has ended). */
  stop(): void;
}

export function createSessionTimers(limits: Limits, onTimeout: (reason: string) => void, startedAt = Date.now()): SessionTimers {
  let lastActive = startedAt;
  let dataTimer: NodeJS.Timeout | null = null;
  let idleTimer: NodeJS.Timeout | null = null;
  const sessionTimer = setTimeout(() => onTimeout("session-timeout"), limits.sessionTimeoutMs).unref();
  const onIdle = (): void => onTimeout("idle-timeout");
  const onData = (): void => onTimeout("data-timeout");

  function stopData(): void {
    if (dataTimer) clearTimeout(dataTimer);
    dataTimer = null;
  }

  return {
    get lastActive() {
      return lastActive;
    },
    startIdle() {
      idleTimer ??= setTimeout(onIdle, limits.idleTimeoutMs).unref();
    },
    touch() {
      lastActive = Date.now();
      idleTimer?.refresh();
    },
    startData() {
      dataTimer = setTimeout(onData, limits.dataTimeoutMs).unref();
    },
    get dataRunning() {
      return dataTimer !== null;
    },
    stopData,
    stop() {
      stopData();
      clearTimeout(sessionTimer);
      if (idleTimer) clearTimeout(idleTimer);
    },
  };
}
