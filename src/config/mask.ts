// Secret masking for every place the config is shown (check-config, docs/config.example.yaml, the web API's Config
// page): secrets only (tokens, passwords, hashes, database URLs, credentials in URLs); booleans and numbers never.

export const MASK = "***";

/** Keys whose string values are secrets, whatever their contents (collector.tokens, web.users[].passwordHash, ...). */
const SECRET_KEY = /password|passwd|secret|token|hash|credential|apikey|api_key|databaseUrl/i;

/** scheme://user:pass@host... or scheme://token@host...: the user information is a credential. */
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]+@/i;

/** The value with its secrets replaced by "***": only non-empty strings are ever masked. */
export function maskSecrets(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  if (typeof value !== "string" || value === "") return value;
  if (SECRET_KEY.test(key)) return MASK;
  return value.replace(URL_USERINFO, `$1${MASK}@`);
}
