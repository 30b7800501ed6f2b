// Parsing of "FROM:<path> params" / "TO:<path> params" arguments, as tolerant as Postfix (spaces after the colon,
// missing angle brackets) but bounded and exception-free.

export interface PathArg {
  address: string;
  params: Array<{ key: string; value: string | null }>;
}

/** Returns null on a syntax error. `prefix` is "FROM" or "TO". */
export function parsePathArg(arg: string, prefix: "FROM" | "TO"): PathArg | null {
  const head = prefix + ":";
  if (arg.slice(0, head.length).toUpperCase() !== head) return null;
  const rest = arg.slice(head.length).trimStart();
  if (rest === "") return null;
  let address: string;
  let tail: string;
  if (rest.startsWith("<")) {
    const end = closingBracket(rest);
    if (end === -1) return null;
    address = rest.slice(1, end);
    tail = rest.slice(end + 1);
    if (tail !== "" && !tail.startsWith(" ")) return null;
  } else {
    const sp = rest.indexOf(" ");
    address = sp === -1 ? rest : rest.slice(0, sp);
    tail = sp === -1 ? "" : rest.slice(sp);
  }
  // Source routes (<@a,@b:user@c>) are legal and ignored, as real servers do.
  const colon = address.startsWith("@") ? address.indexOf(":") : -1;
  if (colon !== -1) address = address.slice(colon + 1);
  const params: PathArg["params"] = [];
  for (const p of tail.split(" ")) {
    if (p === "") continue;
    const eq = p.indexOf("=");
    params.push(eq === -1 ? { key: p.toUpperCase(), value: null } : { key: p.slice(0, eq).toUpperCase(), value: p.slice(eq + 1) });
  }
  return { address, params };
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
