// Redaction for the public read-only view: local parts of addresses (dropboxes, trap recipients) become "***".

const ADDRESS = /[^\s<>"'(),;:@[\]]+@(\[?[A-Za-z0-9.:-]+\]?)/g;

export function redactAddresses(s: string): string {
  return s.replace(ADDRESS, "***@$1");
}

/** A copy with every string redacted (keys are left alone). */
export function redactDeep<T>(v: T): T {
  if (typeof v === "string") return redactAddresses(v) as T;
  if (Array.isArray(v)) return v.map(redactDeep) as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = redactDeep(x);
    return out as T;
  }
  return v;
}
