// Parsing of "FROM:<path> params" / "TO:<path> params" arguments, as tolerant as Postfix (spaces after the colon,
// missing angle brackets, source routes) but bounded and exception-free.

export interface PathArg {
  address: string;
  params: Array<{ key: string; value: string | null }>;
}

/** "syntax": the command itself is malformed; "address": the address inside it is. */
export type PathResult = { ok: true; path: PathArg } | { ok: false; error: "syntax" | "address"; address: string };

/** Longest DNS label (RFC 1035). */
const MAX_LABEL = 63;

export function parsePathArg(arg: string, prefix: "FROM" | "TO"): PathResult {
  const head = prefix + ":";
  if (arg.slice(0, head.length).toUpperCase() !== head) return { ok: false, error: "syntax", address: "" };
  const rest = arg.slice(head.length).trimStart();
  if (rest === "") return { ok: false, error: "syntax", address: "" };
  let address: string;
  let tail: string;
  if (rest.startsWith("<")) {
    const end = closingBracket(rest);
    if (end === -1) return { ok: false, error: "address", address: rest.slice(1) };
    address = rest.slice(1, end);
    tail = rest.slice(end + 1);
    if (tail !== "" && !/^[ \t]/.test(tail)) return { ok: false, error: "address", address };
  } else {
    const sp = rest.search(/[ \t]/);
    address = sp === -1 ? rest : rest.slice(0, sp);
    tail = sp === -1 ? "" : rest.slice(sp);
  }
  // Source routes (<@a,@b:user@c>) are legal and ignored, as real servers do.
  const colon = address.startsWith("@") ? address.indexOf(":") : -1;
  if (colon !== -1) address = address.slice(colon + 1);
  if (!validAddress(address)) return { ok: false, error: "address", address };
  const params: PathArg["params"] = [];
  for (const p of tail.split(/[ \t]+/)) {
    if (p === "") continue;
    const eq = p.indexOf("=");
    params.push(eq === -1 ? { key: p.toUpperCase(), value: null } : { key: p.slice(0, eq).toUpperCase(), value: p.slice(eq + 1) });
  }
  return { ok: true, path: { address, params } };
}

/** No unquoted white space, and no over-long domain label. The null address "" is valid here. */
function validAddress(a: string): boolean {
  let quoted = false;
  for (let i = 0; i < a.length; i++) {
    const c = a[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === " " || c === "\t" || c === "<" || c === ">")) return false;
  }
  if (quoted) return false;
  const { domain } = splitAddress(a);
  if (domain !== null && !domain.startsWith("[")) {
    for (const label of domain.split(".")) if (label.length > MAX_LABEL) return false;
  }
  return true;
}

/** Index of the ">" closing a path that starts with "<", honouring quoted local parts; -1 if none. */
function closingBracket(s: string): number {
  let quoted = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ">" && !quoted) return i;
  }
  return -1;
}

export function splitAddress(address: string): { local: string; domain: string | null } {
  const at = address.lastIndexOf("@");
  if (at === -1) return { local: address, domain: null };
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}
