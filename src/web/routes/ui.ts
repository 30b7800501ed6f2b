// The browser UI: the single page (index.html under the UI CSP) at every UI path, and its scripts and styles, all
// served from memory, read once when the server is made.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { HttpError } from "../http.js";
import { get, type Route } from "../route.js";

const ASSET_DIR = new URL("../assets/", import.meta.url);
const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const m = new Map<string, Asset>();
  const add = (name: string, type: string, path: string | URL) => m.set(name, { type, body: readFileSync(path) });
  add("app.js", "text/javascript; charset=utf-8", new URL("app.js", ASSET_DIR));
  add("app.css", "text/css; charset=utf-8", new URL("app.css", ASSET_DIR));
  add("uplot.esm.js", "text/javascript; charset=utf-8", require.resolve("uplot/dist/uPlot.esm.js"));
  add("uplot.min.css", "text/css; charset=utf-8", require.resolve("uplot/dist/uPlot.min.css"));
  return m;
}

/** Paths the single-page UI answers (it routes in the browser). */
const UI_PAGES = /^\/(?:|login|messages|messages\/\d+|sessions\/[A-Za-z0-9_.:-]+|sources\/[0-9A-Fa-f.:]+|campaigns|campaigns\/\d+|dropboxes|deliveries|proxy|config)$/;

/** Reads the files now (a missing one fails at startup, not at the first page view). */
export function createUiRoutes(): Route[] {
  const assets = loadAssets();
  const indexHtml = readFileSync(new URL("index.html", ASSET_DIR));
  return [
    get(/^\/assets\/([a-z.]+)$/, "open", (c) => {
      const a = assets.get(c.params[0]!);
      if (!a) throw new HttpError(404, "not found");
      c.res.writeHead(200, { "Content-Type": a.type, "Cache-Control": "no-cache", "Content-Length": a.body.length });
      c.res.end(a.body);
    }),
    get(UI_PAGES, "open", (c) => {
      c.res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Content-Length": indexHtml.length });
      c.res.end(indexHtml);
    }, { csp: "ui" }),
  ];
}
