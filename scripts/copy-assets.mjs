// Copies non-TypeScript runtime assets (SQL migrations, web assets) from src/ into dist/src/.
import { cpSync, readdirSync, statSync, mkdirSync } from "node:fs";
import { join, extname, dirname } from "node:path";

const ASSET_EXTS = new Set([".sql", ".html", ".css", ".js", ".svg", ".png", ".ico", ".json"]);

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (ASSET_EXTS.has(extname(name)) && !p.endsWith(".ts")) {
      const out = join("dist", p);
      mkdirSync(dirname(out), { recursive: true });
      cpSync(p, out);
    }
  }
}
walk("src");
