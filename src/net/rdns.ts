// Optional reverse DNS of clients: asynchronous, cached, time-limited, never on the reply path.
import { Resolver } from "node:dns/promises";

export interface Rdns {
  lookup(ip: string): Promise<string | null>;
}

export function createRdns(opts: { timeoutMs: number; cacheSize: number }): Rdns {
  const resolver = new Resolver({ timeout: opts.timeoutMs, tries: 1 });
  const cache = new Map<string, Promise<string | null>>();
  return {
    lookup(ip) {
      const hit = cache.get(ip);
      if (hit) return hit;
      const p = resolver.reverse(ip).then(
        (names) => names[0] ?? null,
        () => null,
      );
      cache.set(ip, p);
      if (cache.size > opts.cacheSize) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      return p;
    },
  };
}
