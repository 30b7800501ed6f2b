// Tells the protocols on a proxy port apart by the first byte: 0x04 SOCKS4/4a, 0x05 SOCKS5, anything else HTTP.

export type SniffedProtocol = "socks4" | "socks5" | "http";

/** null until at least one byte is there. Pure; never throws. */
export function sniffProtocol(first: Uint8Array): SniffedProtocol | null {
  if (first.length === 0) return null;
  const b = first[0];
  if (b === 0x04) return "socks4";
  if (b === 0x05) return "socks5";
  return "http";
}
