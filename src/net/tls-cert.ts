// The TLS certificate: a configured cert/key, or a self-signed one made at first start and kept in the data dir.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import selfsigned from "selfsigned";

export interface KeyPair {
  key: string;
  cert: string;
}

/** Validity of the generated certificate (Debian's snakeoil certificate is valid for ten years). */
export const SELF_SIGNED_DAYS = 3650;

export async function loadOrCreateCert(opts: { dataDir: string; hostname: string; cert?: string | undefined; key?: string | undefined }): Promise<KeyPair> {
  if (opts.cert && opts.key) return { cert: readFileSync(opts.cert, "utf8"), key: readFileSync(opts.key, "utf8") };
  const dir = join(opts.dataDir, "tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const notAfter = new Date(Date.now() + SELF_SIGNED_DAYS * 86_400_000);
  const pems = await selfsigned.generate([{ name: "commonName", value: opts.hostname }], {
    keySize: 2048,
    algorithm: "sha256",
    notAfterDate: notAfter,
  } as Parameters<typeof selfsigned.generate>[1]);
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  writeFileSync(certPath, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private };
}
