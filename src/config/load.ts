// Loads one typed Config from defaults < YAML file < RELAYTRAP_* env (and *_FILE secrets) < CLI flags.
import { readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { maskSecrets } from "./mask.js";
import { configSchema, type Config } from "./schema.js";
import { isLoopback, lookupAll, parseHostPort, resolvesToLoopback, type LookupAll } from "../net/address.js";
import { isIP } from "node:net";

/** One bad key and why. */
export interface ConfigIssue {
  key: string;
  reason: string;
}

/** A config that cannot be used: every bad key with its reason, one "config: KEY: REASON" line each. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(
    readonly key: string,
    readonly reason: string,
    more: ConfigIssue[] = [],
  ) {
    const issues = [{ key, reason }, ...more];
    super(issues.map((i) => `config: ${i.key}: ${i.reason}`).join("\n"));
    this.issues = issues;
  }
}

export type RawConfig = Record<string, unknown>;

export function camelToSnake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

type Leaf = { path: string[]; kind: "array" | "number" | "boolean" | "string" };

function unwrap(t: z.ZodType): z.ZodType {
  let cur: z.ZodType = t;
  for (let i = 0; i < 10; i++) {
    const def = (cur as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
    if ((def.type === "default" || def.type === "optional" || def.type === "prefault") && def.innerType) cur = def.innerType;
    else if (def.type === "pipe" && def.in) cur = def.in;
    else break;
  }
  return cur;
}

/** Every leaf key of an object schema, with the kind of value its env override must be converted to. */
export function schemaLeaves(schema: z.ZodType, prefix: string[] = []): Leaf[] {
  const t = unwrap(schema);
  const def = (t as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType> } } })._zod.def;
  if (def.type === "object" && def.shape) {
    return Object.entries(def.shape).flatMap(([k, v]) => schemaLeaves(v, [...prefix, k]));
  }
  const kind = def.type === "array" ? "array" : def.type === "number" ? "number" : def.type === "boolean" ? "boolean" : "string";
  return [{ path: prefix, kind }];
}

function envValue(leaf: Leaf, value: string, envName: string): unknown {
  switch (leaf.kind) {
    case "array":
      return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
    case "number": {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) throw new ConfigError(envName, `expected a number, got "${value}"`);
      return n;
    }
    case "boolean":
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      throw new ConfigError(envName, `expected true or false, got "${value}"`);
    default:
      return value;
  }
}

function setPath(obj: RawConfig, path: string[], value: unknown): void {
  let cur: RawConfig = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as RawConfig;
  }
  const last = path[path.length - 1];
  if (last !== undefined) cur[last] = value;
}

/**
 * RELAYTRAP_SMTP_LISTEN=a,b -> smtpListen; RELAYTRAP_LIMITS_MAX_LINE_BYTES -> limits.maxLineBytes; NAME_FILE reads a file.
 * A bad variable is pushed to `issues` and skipped when that list is given; without it, the first one throws.
 */
export function envOverrides(env: NodeJS.ProcessEnv, issues?: ConfigIssue[]): RawConfig {
  const out: RawConfig = {};
  for (const leaf of schemaLeaves(configSchema)) {
    const name = "RELAYTRAP_" + leaf.path.map(camelToSnake).join("_");
    try {
      let value = env[name];
      const fileName = env[`${name}_FILE`];
      if (value === undefined && fileName !== undefined) {
        try {
          value = readFileSync(fileName, "utf8").replace(/\r?\n$/, "");
        } catch (err) {
          throw new ConfigError(`${name}_FILE`, `cannot read ${fileName}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
      }
      if (value !== undefined) setPath(out, leaf.path, envValue(leaf, value, name));
    } catch (err) {
      if (!issues || !(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is RawConfig {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function deepMerge(base: RawConfig, over: RawConfig): RawConfig {
  const out: RawConfig = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

export function readConfigFile(path: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError("config", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError("config", `${path} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc)) throw new ConfigError("config", `${path} must hold a YAML mapping of keys`);
  return doc;
}

/** zod's issues as key paths and reasons: an unknown key is named by its own path, one issue per key. */
function configIssues(issues: z.core.$ZodIssue[]): ConfigIssue[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") return issue.keys.map((k) => ({ key: path ? `${path}.${k}` : k, reason: "unknown key" }));
    return [{ key: path || "config", reason: issue.message }];
  });
}

/** Validates a merged raw config; throws ConfigError listing every offending key at once. */
export function validateConfig(raw: RawConfig): Config {
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const [first, ...more] = configIssues(r.error.issues);
    throw new ConfigError(first?.key ?? "config", first?.reason ?? "invalid", more);
  }
  // The web UI shows trapped mail and the config: off loopback it needs users (there is no anonymous admin). An IP is
  // judged here; a host name by what it resolves to, at start (checkWebListen) and again by the web server itself.
  const web = parseHostPort(r.data.webListen);
  if (web && isIP(web.host) !== 0 && !isLoopback(web.host) && r.data.web.users.length === 0) {
    throw new ConfigError("web.users", `webListen ${r.data.webListen} is not a loopback address: configure web.users (see relaytrap hash-password)`);
  }
  if ((r.data.collectorUrl === undefined) !== (r.data.collectorToken === undefined)) {
    throw new ConfigError("collectorToken", "collectorUrl and collectorToken go together (RELAYTRAP_COLLECTOR_TOKEN_FILE for a secret file)");
  }
  return r.data;
}

/**
 * The start check of webListen: without web.users, every address its host resolves to must be loopback (a name such as
 * "127.rt-trap" may resolve anywhere). `lookup` is injected in tests.
 */
export async function checkWebListen(config: Config, lookup: LookupAll = lookupAll): Promise<void> {
  const web = parseHostPort(config.webListen);
  if (!web || config.web.users.length > 0) return;
  let r: { loopback: boolean; addresses: string[] };
  try {
    r = await resolvesToLoopback(web.host, lookup);
  } catch (err) {
    throw new ConfigError("webListen", `cannot resolve ${web.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!r.loopback) {
    throw new ConfigError(
      "web.users",
      `webListen ${config.webListen} resolves to ${r.addresses.join(", ") || "nothing"}, not only loopback: configure web.users (see relaytrap hash-password)`,
    );
  }
}

export interface LoadOptions {
  configFile?: string | undefined;
  flags?: RawConfig;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.configFile ?? env.RELAYTRAP_CONFIG;
  const fromFile = file ? readConfigFile(file) : {};
  // Every bad key at once: the environment's (its bad values skipped) together with the schema's.
  const envIssues: ConfigIssue[] = [];
  const merged = deepMerge(deepMerge(fromFile, envOverrides(env, envIssues)), opts.flags ?? {});
  let config: Config;
  try {
    config = validateConfig(merged);
  } catch (err) {
    if (!(err instanceof ConfigError) || envIssues.length === 0) throw err;
    envIssues.push(...err.issues);
  }
  const [first, ...more] = envIssues;
  if (first) throw new ConfigError(first.key, first.reason, more);
  return config!;
}

/** The host name to greet with when none is configured: the machine's own, as the real server would use. */
export function defaultHostname(): string {
  const h = osHostname();
  return /^[A-Za-z0-9.-]+$/.test(h) && h !== "" ? h : "localhost";
}

/** The effective configuration as YAML, secrets masked: what check-config prints and docs/config.example.yaml holds. */
export function renderConfig(config: Config): string {
  return "# relaytrap effective configuration (defaults < file < environment)\n" + stringifyYaml(maskSecrets(config));
}
