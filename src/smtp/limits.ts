// Named limits of the SMTP trap. Defaults are a real Postfix 3.7's values where one exists; all are overridable
// in config (`limits.*`).

export const LIMIT_DEFAULTS = {
  /** Postfix line_length_limit: a longer command line is cut here and the rest of it discarded. */
  maxLineBytes: 2048,
  /** Postfix message_size_limit. */
  maxMessageBytes: 10_240_000,
  /** Postfix smtpd_recipient_limit. */
  maxRcptPerTxn: 1000,
  /** Transactions (MAIL FROM) in one session; beyond it the session is closed with 421. */
  maxTxnPerSession: 1000,
  /** Postfix smtpd_soft_error_limit: from this many errors on, each error reply is delayed by errorSleepMs. */
  softErrorLimit: 10,
  /** Postfix smtpd_hard_error_limit: at this many errors the session ends with 421. */
  hardErrorLimit: 20,
  /** Postfix smtpd_error_sleep_time. */
  errorSleepMs: 1000,
  /** Postfix smtpd_junk_command_limit: NOOP/VRFY/ETRN/RSET beyond this count as errors. */
  junkCommandLimit: 100,
  /** Postfix smtpd_timeout: idle time waiting for a command or data. Counted from the last complete command line (in
   * DATA/BDAT: the last bytes of message data), so a client trickling a partial line does not reset it. */
  idleTimeoutMs: 300_000,
  /** Total time a DATA/BDAT phase may take, however slowly the bytes trickle in. */
  dataTimeoutMs: 600_000,
  /** Whole-session wall-clock cap (slowloris that sends a byte every few minutes). */
  sessionTimeoutMs: 3_600_000,
  /** Concurrent sessions across all listeners. At it, a new client evicts the longest-idle session of the source with
   * the most sessions (told with the timeout reply), so idle crowds cannot lock everyone else out. */
  maxSessions: 5000,
  /** Concurrent sessions from one client IP (Postfix smtpd_client_connection_count_limit). */
  maxSessionsPerIp: 50,
  /** Bytes of transcript kept per session; later lines are counted, not kept. */
  maxTranscriptBytes: 64 * 1024,
  /** Bytes of unprocessed input buffered while a reply is pending (pipelining); beyond it reading pauses. */
  maxPendingInputBytes: 256 * 1024,
  /** Bytes of replies not yet taken by the client (a pipelining client that does not read); beyond it no command is
   * read or answered until the socket drains. */
  maxPendingOutputBytes: 64 * 1024,
  /** Stress (Postfix's stress-dependent smtpd_timeout): from this percentage of maxSessions on, idle time is cut to
   * stressIdleTimeoutMs. */
  stressHighWaterPercent: 90,
  /** Postfix smtpd_timeout under stress (${stress?{10}:{300}}s). */
  stressIdleTimeoutMs: 10_000,
  /** Delay before an AUTH failure reply (Dovecot's auth_failure_delay behind Postfix). */
  authFailureDelayMs: 2000,
  /** AUTH exchange line limit (Postfix smtpd_sasl lines are command lines too). */
  maxAuthSteps: 5,
} as const;

export type Limits = { -readonly [K in keyof typeof LIMIT_DEFAULTS]: number };
