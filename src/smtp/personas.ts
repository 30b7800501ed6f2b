// Personas: what a real server says, as data. Handlers look replies up here; no persona `if`s in handlers.
// Postfix is the reference, checked against a transcript recorded from Debian's Postfix 3.7 (test/fixtures/postfix).

export type PersonaName = "postfix" | "sendmail" | "exim";

/** Template variables: {host} our host name, {arg} the command argument, {addr} an address, {qid} a queue id,
 * {ip} the client IP, {rdns} its name or "unknown", {date} an RFC 5322 date, {size} a byte count. */
export type ReplyKey =
  | "greeting"
  | "helo"
  | "ehloFirst"
  | "heloSyntax"
  | "ehloSyntax"
  | "inTransaction"
  | "ok"
  | "noop"
  | "rset"
  | "mailOk"
  | "mailSyntax"
  | "mailNested"
  | "mailTooBig"
  | "mailBadParam"
  | "rcptOk"
  | "rcptSyntax"
  | "rcptNeedMail"
  | "rcptUnknownLocal"
  | "rcptTooMany"
  | "dataSyntax"
  | "dataNeedRcpt"
  | "dataNoValidRcpt"
  | "dataGo"
  | "queued"
  | "messageTooBig"
  | "storageFull"
  | "storageError"
  | "bdatSyntax"
  | "bdatChunk"
  | "bdatNeedRcpt"
  | "dataAfterBdat"
  | "vrfyOk"
  | "vrfyUnknown"
  | "vrfySyntax"
  | "expn"
  | "help"
  | "etrnOk"
  | "etrnSyntax"
  | "etrnNeedHelo"
  | "unknown"
  | "emptyLine"
  | "quit"
  | "forbidden"
  | "tooManyErrors"
  | "timeout"
  | "tooManyConnections"
  | "serviceUnavailable"
  | "tooManyTransactions"
  | "starttlsGo"
  | "starttlsSyntax"
  | "starttlsUnavailable"
  | "starttlsAlready"
  | "authDisabled"
  | "authSyntax"
  | "authAlready"
  | "authInTransaction"
  | "authBadMechanism"
  | "authCannotDecode"
  | "authAborted"
  | "authFailed"
  | "authOk"
  | "noopSyntax"
  | "rsetSyntax"
  | "quitSyntax"
  | "badUtf8"
  | "xclient"
  | "mailBadAddress"
  | "mailBadSize"
  | "rcptBadAddress"
  | "bdatQueued"
  | "authCannotDecodeInitial"
  | "tooManyUnknown";

export interface Persona {
  name: PersonaName;
  /** Reply text templates; a "\n" separates the lines of a multi-line reply. */
  replies: Record<ReplyKey, string>;
  /** EHLO keywords in the real server's order. `tls`/`auth`/`size` keywords are filtered by the session. */
  ehloKeywords: string[];
  /** First EHLO line after "250-": usually the host name, sometimes a greeting. */
  ehloGreeting: string;
  /** Verbs that end the session as an HTTP request on the SMTP port would (Postfix smtpd_forbidden_commands). */
  forbiddenVerbs: string[];
  /** Verbs matching this also end the session (Postfix's default `regexp:{{/^[^A-Z]/ Bogus}}`, case-insensitive). */
  forbiddenPattern: RegExp | null;
  /** Command lines that are not valid UTF-8 get the badUtf8 reply (Postfix with smtputf8_enable). */
  checkUtf8: boolean;
  /** A command line ends at its first NUL byte (Postfix reads it as a C string). */
  nulEndsLine: boolean;
  /** Unknown commands tolerated before the session ends with tooManyUnknown (Exim smtp_max_unknown_commands); 0: no such limit. */
  maxUnknownCommands: number;
  /** BDAT's final byte count includes the CRLF the server appends to a message not ending in one. */
  bdatCountsAddedCrlf: boolean;
  /** Commands that count toward the junk command limit (Postfix smtpd_junk_command_limit). */
  junkVerbs: string[];
  /** Whether VRFY answers at all (false: treated as an unknown command). */
  vrfy: boolean;
  /** Whether ETRN exists. */
  etrn: boolean;
  /** Whether BDAT (CHUNKING) exists. */
  chunking: boolean;
  /** Local users VRFY/RCPT accept at the server's own domain; everything else there is "unknown". */
  localUsers: string[];
  queueId(): string;
}

const POSTFIX_LOCAL_USERS = ["root", "postmaster", "mailer-daemon", "abuse", "nobody", "daemon", "bin", "sys", "www-data", "mail", "news", "uucp", "proxy", "backup", "list", "irc", "games", "man", "lp", "sync", "hostmaster", "webmaster", "security", "operator"];

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, "0");
}

/** Postfix short queue id: 5 hex digits of the microseconds, then the queue file's inode number in hex. */
function postfixQueueId(): string {
  const usec = Math.floor((performance.timeOrigin * 1000 + performance.now() * 1000) % 1_000_000);
  const inode = 0x10000 + Math.floor(Math.random() * 0xfeffff);
  return hex(usec, 5) + hex(inode, 1);
}

const B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function base62(n: number, width: number): string {
  let s = "";
  for (let i = 0; i < width; i++) {
    s = B62[n % 62] + s;
    n = Math.floor(n / 62);
  }
  return s;
}

/** Exim 4.96 message id: base62 time, base62 pid, base62 fraction ("1tXyZ0-000Abc-Q2"). */
function eximQueueId(): string {
  const now = Date.now();
  return `${base62(Math.floor(now / 1000), 6)}-${base62(1000 + Math.floor(Math.random() * 60000), 6)}-${base62(now % 1000, 2)}`;
}

/** sendmail queue id: "5ARExxxx012345"-like (year/month/day/hour/min/sec letters + pid). */
function sendmailQueueId(): string {
  const d = new Date();
  const L = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx";
  const c = (n: number) => L[n % L.length];
  return `${c(d.getUTCFullYear() - 1900)}${c(d.getUTCMonth())}${c(d.getUTCDate())}${c(d.getUTCHours())}${c(d.getUTCMinutes())}${c(d.getUTCSeconds())}${String(1000 + Math.floor(Math.random() * 98000)).padStart(6, "0")}`;
}

export const PERSONAS: Record<PersonaName, Persona> = {
  postfix: {
    name: "postfix",
    ehloGreeting: "{host}",
    ehloKeywords: ["PIPELINING", "SIZE {size}", "VRFY", "ETRN", "STARTTLS", "AUTH {mechs}", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"],
    forbiddenVerbs: ["CONNECT", "GET", "POST"],
    forbiddenPattern: /^[^A-Z]/i,
    checkUtf8: true,
    nulEndsLine: true,
    bdatCountsAddedCrlf: true,
    maxUnknownCommands: 0,
    junkVerbs: ["NOOP", "VRFY", "ETRN", "RSET"],
    vrfy: true,
    etrn: true,
    chunking: true,
    localUsers: POSTFIX_LOCAL_USERS,
    queueId: postfixQueueId,
    replies: {
      greeting: "220 {host} ESMTP Postfix (Debian/GNU)",
      helo: "250 {host}",
      ehloFirst: "250 {host}",
      heloSyntax: "501 Syntax: HELO hostname",
      ehloSyntax: "501 Syntax: EHLO hostname",
      inTransaction: "503 5.5.1 Error: MAIL transaction in progress",
      ok: "250 2.0.0 Ok",
      noop: "250 2.0.0 Ok",
      rset: "250 2.0.0 Ok",
      mailOk: "250 2.1.0 Ok",
      mailSyntax: "501 5.5.4 Syntax: MAIL FROM:<address>",
      mailNested: "503 5.5.1 Error: nested MAIL command",
      mailTooBig: "552 5.3.4 Message size exceeds fixed limit",
      mailBadParam: "555 5.5.4 Unsupported option: {arg}",
      rcptOk: "250 2.1.5 Ok",
      rcptSyntax: "501 5.5.4 Syntax: RCPT TO:<address>",
      rcptNeedMail: "503 5.5.1 Error: need MAIL command",
      rcptUnknownLocal: "550 5.1.1 <{addr}>: Recipient address rejected: User unknown in local recipient table",
      rcptTooMany: "452 4.5.3 Error: too many recipients",
      dataSyntax: "501 5.5.4 Syntax: DATA",
      dataNeedRcpt: "503 5.5.1 Error: need RCPT command",
      dataNoValidRcpt: "554 5.5.1 Error: no valid recipients",
      dataGo: "354 End data with <CR><LF>.<CR><LF>",
      queued: "250 2.0.0 Ok: queued as {qid}",
      messageTooBig: "552 5.3.4 Error: message file too big",
      storageFull: "452 4.3.1 Insufficient system storage",
      storageError: "451 4.3.0 Error: queue file write error",
      bdatSyntax: "521 5.5.4 Syntax: BDAT count [LAST]",
      bdatChunk: "250 2.0.0 Ok: {size} bytes",
      bdatNeedRcpt: "503 5.5.1 Error: need RCPT command",
      dataAfterBdat: "503 5.5.1 Error: DATA after BDAT",
      vrfyOk: "252 2.0.0 {arg}",
      vrfyUnknown: "550 5.1.1 <{addr}>: Recipient address rejected: User unknown in local recipient table",
      vrfySyntax: "501 5.5.4 Syntax: VRFY address [SMTPUTF8]",
      expn: "500 5.5.2 Error: command not recognized",
      help: "500 5.5.2 Error: command not recognized",
      etrnOk: "459 <{arg}>: service unavailable",
      etrnSyntax: "500 Syntax: ETRN domain",
      etrnNeedHelo: "503 Error: send HELO/EHLO first",
      unknown: "500 5.5.2 Error: command not recognized",
      emptyLine: "500 5.5.2 Error: bad syntax",
      quit: "221 2.0.0 Bye",
      forbidden: "221 2.7.0 Error: I can break rules, too. Goodbye.",
      tooManyErrors: "421 4.7.0 {host} Error: too many errors",
      timeout: "421 4.4.2 {host} Error: timeout exceeded",
      tooManyConnections: "421 4.7.0 {host} Error: too many connections from {ip}",
      serviceUnavailable: "421 4.3.2 Service currently unavailable",
      tooManyTransactions: "421 4.7.0 {host} Error: too many messages",
      starttlsGo: "220 2.0.0 Ready to start TLS",
      starttlsSyntax: "501 5.5.4 Syntax: STARTTLS",
      starttlsUnavailable: "502 5.5.1 Error: command not implemented",
      starttlsAlready: "554 5.5.1 Error: TLS already active",
      authDisabled: "503 5.5.1 Error: authentication not enabled",
      authSyntax: "501 5.5.4 Syntax: AUTH mechanism",
      authAlready: "503 5.5.1 Error: already authenticated",
      authInTransaction: "503 5.5.1 Error: MAIL transaction in progress",
      authBadMechanism: "535 5.7.8 Error: authentication failed: Invalid authentication mechanism",
      authCannotDecode: "535 5.7.8 Error: authentication failed: Invalid base64 data in continued response",
      authAborted: "501 5.7.0 Authentication aborted",
      authFailed: "535 5.7.8 Error: authentication failed: (reason unavailable)",
      authOk: "235 2.7.0 Authentication successful",
      noopSyntax: "250 2.0.0 Ok",
      rsetSyntax: "501 5.5.4 Syntax: RSET",
      quitSyntax: "221 2.0.0 Bye",
      badUtf8: "500 5.5.2 Error: bad UTF-8 syntax",
      xclient: "550 5.7.0 Error: insufficient authorization",
      mailBadAddress: "501 5.1.7 Bad sender address syntax",
      mailBadSize: "501 5.5.4 Bad message size syntax",
      rcptBadAddress: "501 5.1.3 Bad recipient address syntax",
      bdatQueued: "250 2.0.0 Ok: {size} bytes queued as {qid}",
      authCannotDecodeInitial: "535 5.7.8 Error: authentication failed: Invalid base64 data in initial response",
      tooManyUnknown: "421 4.7.0 {host} Error: too many errors",
    },
  },
  sendmail: {
    name: "sendmail",
    ehloGreeting: "{host} Hello {rdns} [{ip}], pleased to meet you",
    ehloKeywords: ["ENHANCEDSTATUSCODES", "PIPELINING", "8BITMIME", "SIZE {size}", "DSN", "ETRN", "AUTH {mechs}", "STARTTLS", "DELIVERBY", "HELP"],
    forbiddenVerbs: [],
    forbiddenPattern: null,
    checkUtf8: false,
    nulEndsLine: false,
    bdatCountsAddedCrlf: false,
    maxUnknownCommands: 0,
    junkVerbs: ["NOOP", "VRFY", "ETRN", "RSET", "HELP"],
    vrfy: true,
    etrn: true,
    chunking: false,
    localUsers: POSTFIX_LOCAL_USERS,
    queueId: sendmailQueueId,
    replies: {
      greeting: "220 {host} ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2; {date}",
      helo: "250 {host} Hello {rdns} [{ip}], pleased to meet you",
      ehloFirst: "250 {host} Hello {rdns} [{ip}], pleased to meet you",
      heloSyntax: "501 5.0.0 HELO requires domain address",
      ehloSyntax: "501 5.0.0 EHLO requires domain address",
      inTransaction: "503 5.5.0 Sender already specified",
      ok: "250 2.0.0 OK",
      noop: "250 2.0.0 OK",
      rset: "250 2.0.0 Reset state",
      mailOk: "250 2.1.0 <{addr}>... Sender ok",
      mailSyntax: "501 5.5.2 Syntax error in parameters scanning \"from\"",
      mailNested: "503 5.5.0 Sender already specified",
      mailTooBig: "552 5.2.3 Message size exceeds fixed maximum message size",
      mailBadParam: "555 5.5.4 {arg} parameter unrecognized",
      rcptOk: "250 2.1.5 <{addr}>... Recipient ok",
      rcptSyntax: "501 5.5.2 Syntax error in parameters scanning \"to\"",
      rcptNeedMail: "503 5.0.0 Need MAIL before RCPT",
      rcptUnknownLocal: "550 5.1.1 <{addr}>... User unknown",
      rcptTooMany: "452 4.5.3 Too many recipients",
      dataSyntax: "501 5.5.4 Syntax error in parameters",
      dataNeedRcpt: "503 5.0.0 Need RCPT (recipient)",
      dataNoValidRcpt: "503 5.0.0 Need RCPT (recipient)",
      dataGo: "354 Enter mail, end with \".\" on a line by itself",
      queued: "250 2.0.0 {qid} Message accepted for delivery",
      messageTooBig: "552 5.2.3 Message exceeds maximum fixed size",
      storageFull: "452 4.4.5 Insufficient disk space; try again later",
      storageError: "451 4.3.0 Temporary system failure. Please try again later.",
      bdatSyntax: "500 5.5.1 Command unrecognized: \"BDAT\"",
      bdatChunk: "500 5.5.1 Command unrecognized: \"BDAT\"",
      bdatNeedRcpt: "500 5.5.1 Command unrecognized: \"BDAT\"",
      dataAfterBdat: "503 5.0.0 Need RCPT (recipient)",
      vrfyOk: "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try finger)",
      vrfyUnknown: "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try finger)",
      vrfySyntax: "501 5.5.2 Argument required",
      expn: "502 5.7.0 Sorry, we do not allow this operation",
      help: "214-2.0.0 This is sendmail version 8.17.1.9\n214-2.0.0 Topics:\n214-2.0.0 \tHELO\tEHLO\tMAIL\tRCPT\tDATA\n214-2.0.0 \tRSET\tNOOP\tQUIT\tHELP\tVRFY\n214-2.0.0 \tEXPN\tVERB\tETRN\tDSN\tAUTH\n214-2.0.0 \tSTARTTLS\n214-2.0.0 For more info use \"HELP <topic>\".\n214-2.0.0 To report bugs in the implementation see\n214-2.0.0 \thttp://www.sendmail.org/email-addresses.html\n214-2.0.0 For local information send email to Postmaster at your site.\n214 2.0.0 End of HELP info",
      etrnOk: "250 2.0.0 Queuing for node {arg} started",
      etrnSyntax: "501 5.5.2 Parameter required",
      etrnNeedHelo: "503 5.0.0 I demand that you introduce yourself first",
      unknown: "500 5.5.1 Command unrecognized: \"{arg}\"",
      emptyLine: "500 5.5.1 Command unrecognized: \"\"",
      quit: "221 2.0.0 {host} closing connection",
      forbidden: "554 5.7.0 Sorry, we do not allow this operation",
      tooManyErrors: "421 4.7.0 {host} Too many errors",
      timeout: "421 4.4.1 {host} Lost input channel",
      tooManyConnections: "421 4.3.2 Too many open connections.",
      serviceUnavailable: "421 4.3.2 Service temporarily unavailable",
      tooManyTransactions: "421 4.7.0 {host} Too many messages",
      starttlsGo: "220 2.0.0 Ready to start TLS",
      starttlsSyntax: "501 5.5.2 Syntax error (no parameters allowed)",
      starttlsUnavailable: "500 5.5.1 Command unrecognized: \"STARTTLS\"",
      starttlsAlready: "503 5.5.0 TLS already active",
      authDisabled: "503 5.3.3 AUTH not available",
      authSyntax: "501 5.5.2 AUTH mechanism must be specified",
      authAlready: "503 5.5.0 Already Authenticated",
      authInTransaction: "503 5.5.0 AUTH not permitted during a mail transaction",
      authBadMechanism: "504 5.3.3 AUTH mechanism {arg} not available",
      authCannotDecode: "501 5.5.4 cannot decode AUTH parameter",
      authAborted: "501 5.0.0 AUTH aborted",
      authFailed: "535 5.7.0 authentication failed",
      authOk: "235 2.0.0 OK Authenticated",
      noopSyntax: "250 2.0.0 OK",
      rsetSyntax: "250 2.0.0 Reset state",
      quitSyntax: "221 2.0.0 {host} closing connection",
      badUtf8: "500 5.5.1 Command unrecognized: \"{arg}\"",
      xclient: "500 5.5.1 Command unrecognized: \"{arg}\"",
      mailBadAddress: "553 5.1.0 <{addr}>... Unbalanced '<'",
      mailBadSize: "501 5.5.2 Syntax error in parameters scanning \"from\"",
      rcptBadAddress: "553 5.1.0 <{addr}>... Unbalanced '<'",
      bdatQueued: "500 5.5.1 Command unrecognized: \"BDAT\"",
      authCannotDecodeInitial: "501 5.5.4 cannot decode AUTH parameter",
      tooManyUnknown: "421 4.7.0 {host} Too many errors",
    },
  },
  exim: {
    name: "exim",
    ehloGreeting: "{host} Hello {rdns} [{ip}]",
    ehloKeywords: ["SIZE {size}", "8BITMIME", "PIPELINING", "AUTH {mechs}", "CHUNKING", "STARTTLS", "PRDR", "HELP"],
    forbiddenVerbs: [],
    forbiddenPattern: null,
    checkUtf8: false,
    nulEndsLine: false,
    bdatCountsAddedCrlf: false,
    maxUnknownCommands: 3,
    junkVerbs: ["NOOP", "VRFY", "ETRN", "RSET", "HELP"],
    vrfy: true,
    etrn: false,
    chunking: true,
    localUsers: POSTFIX_LOCAL_USERS,
    queueId: eximQueueId,
    replies: {
      greeting: "220 {host} ESMTP Exim 4.96 {date}",
      helo: "250 {host} Hello {rdns} [{ip}]",
      ehloFirst: "250 {host} Hello {rdns} [{ip}]",
      heloSyntax: "501 Syntactically invalid HELO argument(s)",
      ehloSyntax: "501 Syntactically invalid EHLO argument(s)",
      inTransaction: "503 sender already given",
      ok: "250 OK",
      noop: "250 OK",
      rset: "250 Reset OK",
      mailOk: "250 OK",
      mailSyntax: "501 : sender address must contain a domain",
      mailNested: "503 sender already given",
      mailTooBig: "552 Message size exceeds maximum permitted",
      mailBadParam: "555 Unsupported option: {arg}",
      rcptOk: "250 Accepted",
      rcptSyntax: "501 : recipient address must contain a domain",
      rcptNeedMail: "503 sender not yet given",
      rcptUnknownLocal: "550 Unrouteable address",
      rcptTooMany: "452 too many recipients",
      dataSyntax: "501 DATA must have no arguments",
      dataNeedRcpt: "503 valid RCPT command must precede DATA",
      dataNoValidRcpt: "503 valid RCPT command must precede DATA",
      dataGo: "354 Enter message, ending with \".\" on a line by itself",
      queued: "250 OK id={qid}",
      messageTooBig: "552 Message size exceeds maximum permitted",
      storageFull: "452 space shortage, please try later",
      storageError: "451 Temporary local problem - please try later",
      bdatSyntax: "501 missing size for BDAT command",
      bdatChunk: "250 {size} byte chunk received",
      bdatNeedRcpt: "503 BDAT command used when CHUNKING not advertised",
      dataAfterBdat: "503 only BDAT permissible after non-LAST BDAT",
      vrfyOk: "252 Administrative prohibition",
      vrfyUnknown: "252 Administrative prohibition",
      vrfySyntax: "501 VRFY must have an address argument",
      expn: "550 Administrative prohibition",
      help: "214-Commands supported:\n214 AUTH HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT RSET HELP",
      etrnOk: "458 Administrative prohibition",
      etrnSyntax: "458 Administrative prohibition",
      etrnNeedHelo: "458 Administrative prohibition",
      unknown: "500 unrecognized command",
      emptyLine: "500 unrecognized command",
      quit: "221 {host} closing connection",
      forbidden: "500 unrecognized command",
      tooManyErrors: "421 {host} too many unrecognized commands",
      timeout: "421 {host} SMTP incoming data timeout - closing connection.",
      tooManyConnections: "421 {host} Too many concurrent SMTP connections from this IP address; please try again later.",
      serviceUnavailable: "421 {host} Too many concurrent SMTP connections; please try again later.",
      tooManyTransactions: "421 {host} too many messages in this connection",
      starttlsGo: "220 TLS go ahead",
      starttlsSyntax: "501 STARTTLS command must have no arguments",
      starttlsUnavailable: "503 STARTTLS command used when not advertised",
      starttlsAlready: "554 Already in TLS",
      authDisabled: "503 AUTH command used when not advertised",
      authSyntax: "501 Syntax: AUTH mechanism",
      authAlready: "503 already authenticated",
      authInTransaction: "503 sender already given",
      authBadMechanism: "504 {arg} authentication mechanism not supported",
      authCannotDecode: "501 Invalid base64 data",
      authAborted: "501 Authentication cancelled",
      authFailed: "535 Incorrect authentication data",
      authOk: "235 Authentication succeeded",
      noopSyntax: "250 OK",
      rsetSyntax: "250 Reset OK",
      quitSyntax: "221 {host} closing connection",
      badUtf8: "500 unrecognized command",
      xclient: "500 unrecognized command",
      mailBadAddress: "501 <{addr}>: missing or malformed local part",
      mailBadSize: "501 invalid data for SIZE parameter",
      rcptBadAddress: "501 <{addr}>: missing or malformed local part",
      bdatQueued: "250 OK id={qid}",
      authCannotDecodeInitial: "501 Invalid base64 data",
      tooManyUnknown: "500 Too many unrecognized commands",
    },
  },
};

export interface ReplyVars {
  host: string;
  ip: string;
  rdns?: string | null;
  arg?: string;
  addr?: string;
  qid?: string;
  size?: number;
}

/** Renders a reply template into its lines (without CRLF). */
export function renderReply(persona: Persona, key: ReplyKey, vars: ReplyVars): string[] {
  return fill(persona.replies[key], vars).split("\n");
}

export function fill(template: string, vars: ReplyVars): string {
  return template.replace(/\{(host|ip|rdns|arg|addr|qid|size|date)\}/g, (_, k: string) => {
    switch (k) {
      case "host":
        return vars.host;
      case "ip":
        return vars.ip;
      case "rdns":
        return vars.rdns ?? "unknown";
      case "arg":
        return vars.arg ?? "";
      case "addr":
        return vars.addr ?? "";
      case "qid":
        return vars.qid ?? "";
      case "size":
        return String(vars.size ?? 0);
      default:
        return rfc5322Date(new Date());
    }
  });
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
