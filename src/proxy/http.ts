// HTTP/1.x request heads as a pure incremental reader (bytes in, one parsed head out) plus request-target parsing.
// Bounded: request line, total head bytes and header count are limits; garbage is rejected from the first bytes.
import { MAX_METHOD_BYTES } from "./limits.js";

export interface HttpHead {
  method: string;
  /** The request-target as sent (absolute URI, authority for CONNECT, or origin-form path). */
  target: string;
  /** "1.0" or "1.1" (any 1.x/2.x digit pair as sent). */
  version: string;
  headers: Array<[string, string]>;
}

export type HeadError = "bad-request-line" | "request-line-too-long" | "headers-too-large" | "too-many-headers" | "bad-header";

export type HeadResult = { status: "more" } | { status: "ok"; head: HttpHead } | { status: "error"; reason: HeadError };

export interface HeadLimits {
  maxRequestLineBytes: number;
  maxHeaderBytes: number;
  maxHeaders: number;
}

export interface HeadReader {
  /** Feed bytes; "more" until the head is complete or an error is certain. Once not "more", the result sticks. */
  push(chunk: Uint8Array): HeadResult;
  /** Bytes after the head (body, pipelined requests), once the result is "ok". */
  rest(): Buffer;
}

/** RFC 9110 tchar. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e\x80-\xff]+) HTTP\/(\d\.\d)$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a complete head (latin1 text without the final empty line). Pure; never throws. */
export function parseHead(text: string, limits: HeadLimits): HttpHead | HeadError {
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  const first = lines[0] ?? "";
  if (first.length > limits.maxRequestLineBytes) return "request-line-too-long";
  const m = REQUEST_LINE.exec(first);
  if (!m) return "bad-request-line";
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    if (line[0] === " " || line[0] === "\t") {
      // obs-fold: a continuation of the previous field (RFC 9112 lets a proxy replace it with a space).
      const prev = headers[headers.length - 1];
      if (!prev) return "bad-header";
      prev[1] = `${prev[1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) return "bad-header";
    const name = line.slice(0, colon);
    if (!HEADER_NAME.test(name)) return "bad-header";
    if (headers.length >= limits.maxHeaders) return "too-many-headers";
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return { method: m[1]!, target: m[2]!, version: m[3]!, headers };
}

export function createHeadReader(limits: HeadLimits): HeadReader {
  let buf = Buffer.alloc(256);
  let len = 0;
  /** Where the next search for the end of the head starts. */
  let scanFrom = 0;
  /** Leading empty lines skipped (RFC 9112 2.2), counted against the head limit. */
  let skipped = 0;
  let methodChecked = false;
  let firstLineChecked = false;
  let result: HeadResult = { status: "more" };
  let headEnd = 0;

  const fail = (reason: HeadError): HeadResult => (result = { status: "error", reason });

  return {
    rest: () => (result.status === "ok" ? Buffer.from(buf.subarray(headEnd, len)) : Buffer.alloc(0)),
    push(chunk) {
      if (result.status === "error") return result;
      if (result.status === "ok") {
        // Keep accumulating what follows, bounded by what the caller chooses to feed.
        append(chunk);
        return result;
      }
      let c: Uint8Array = chunk;
      if (len === 0) {
        let i = 0;
        while (i < c.length && (c[i] === 0x0d || c[i] === 0x0a)) i++;
        skipped += i;
        c = c.subarray(i);
        if (skipped > limits.maxHeaderBytes) return fail("headers-too-large");
        if (c.length === 0) return result;
      }
      const room = limits.maxHeaderBytes + 4 - len;
      append(c.length > room ? c.subarray(0, room) : c);
      if (!methodChecked) {
        // A method is tchars followed by one space; anything else is not HTTP and needs no more bytes to tell.
        const n = Math.min(len, MAX_METHOD_BYTES + 1);
        for (let i = 0; i < n; i++) {
          if (TCHAR[buf[i]!]) continue;
          if (buf[i] !== 0x20 || i === 0) return fail("bad-request-line");
          methodChecked = true;
          break;
        }
        if (!methodChecked && len > MAX_METHOD_BYTES) return fail("bad-request-line");
      }
      if (!firstLineChecked) {
        const nl = buf.subarray(0, len).indexOf(0x0a);
        if (nl === -1) {
          if (len > limits.maxRequestLineBytes) return fail("request-line-too-long");
        } else {
          if (nl > limits.maxRequestLineBytes + 1) return fail("request-line-too-long");
          firstLineChecked = true;
        }
      }
      const end = findHeadEnd(buf.subarray(0, len), scanFrom);
      if (end === -1) {
        scanFrom = Math.max(0, len - 3);
        if (len + skipped > limits.maxHeaderBytes) return fail("headers-too-large");
        return result;
      }
      const headText = buf.subarray(0, end.start).toString("latin1");
      if (end.start + skipped > limits.maxHeaderBytes) return fail("headers-too-large");
      headEnd = end.end;
      const head = parseHead(headText, limits);
      if (typeof head === "string") return fail(head);
      result = { status: "ok", head };
      return result;
    },
  };

  function append(c: Uint8Array): void {
    if (len + c.length > buf.length) {
      const next = Buffer.alloc(Math.max(buf.length * 2, len + c.length));
      buf.copy(next, 0, 0, len);
      buf = next;
    }
    buf.set(c, len);
    len += c.length;
  }
}

/** The end of the head: an empty line after the request line ("\n\n" or "\n\r\n"). -1 if not there yet. */
function findHeadEnd(b: Buffer, from: number): { start: number; end: number } | -1 {
  let i = b.indexOf(0x0a, from);
  while (i !== -1) {
    if (b[i + 1] === 0x0a) return { start: i + 1, end: i + 2 };
    if (b[i + 1] === 0x0d && b[i + 2] === 0x0a) return { start: i + 1, end: i + 3 };
    if (i + 1 >= b.length || (b[i + 1] === 0x0d && i + 2 >= b.length)) return -1;
    i = b.indexOf(0x0a, i + 1);
  }
  return -1;
}

export function header(head: HttpHead, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of head.headers) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export interface RequestTarget {
  kind: "authority" | "absolute" | "origin" | "invalid";
  scheme: string | null;
  host: string | null;
  port: number | null;
  /** Path and query ("/" when absent). */
  path: string;
}

/** "host:port" or "[v6]:port". Never resolves anything. */
export function parseAuthority(s: string, defaultPort: number | null): { host: string; port: number } | null {
  let host: string;
  let portStr: string | undefined;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(s);
  if (v6) {
    host = v6[1]!.toLowerCase();
    portStr = v6[2];
  } else {
    const m = /^([A-Za-z0-9._~%!$&'()*+,;=-]+)(?::(\d{1,5}))?$/.exec(s);
    if (!m) return null;
    host = m[1]!.toLowerCase();
    portStr = m[2];
  }
  const port = portStr === undefined ? defaultPort : Number(portStr);
  if (port === null || port < 1 || port > 65535) return null;
  return { host, port };
}

/** Classifies a request-target (RFC 9112 3.2). Pure; never throws. */
export function parseRequestTarget(method: string, target: string): RequestTarget {
  const invalid: RequestTarget = { kind: "invalid", scheme: null, host: null, port: null, path: "/" };
  if (method === "CONNECT") {
    const a = parseAuthority(target, null);
    return a ? { kind: "authority", scheme: null, host: a.host, port: a.port, path: "/" } : invalid;
  }
  if (target.startsWith("/")) return { kind: "origin", scheme: null, host: null, port: null, path: target };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/.exec(target);
  if (!m) return invalid;
  const scheme = m[1]!.toLowerCase();
  let authority = m[2]!;
  const at = authority.lastIndexOf("@");
  if (at !== -1) authority = authority.slice(at + 1);
  const a = parseAuthority(authority, scheme === "https" ? 443 : scheme === "ftp" ? 21 : 80);
  if (!a) return invalid;
  const rest = m[3]!;
  return { kind: "absolute", scheme, host: a.host, port: a.port, path: rest === "" ? "/" : rest.startsWith("/") ? rest : "/" + rest };
}
