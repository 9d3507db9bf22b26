import { MeshError } from "../core/errors.js";
import { ifNoneMatchMatches } from "../core/net/if-none-match.js";
import { sha256Hex } from "../core/sha256.js";
import chartScript from "../ui/chart.client.js?raw";
import script from "../ui/dashboard.client.js?raw";
import modelScript from "../ui/model.client.js?raw";
import page from "../ui/page.html";
import renderScript from "../ui/render.client.js?raw";
import style from "../ui/style.css";

/**
 * The dashboard at /_mesh/ui (src/ui/, README "Observability"). Its files are
 * text modules in the Worker bundle (wrangler.toml [[rules]]), so there is
 * nothing to build or upload besides the Worker. The page and its assets are
 * public: they hold no data. The page asks for the admin token and sends it
 * only in the Authorization header of its /_mesh/v1 calls, which are
 * authenticated and rate-limited as any other API call.
 */
export const UI_PATH = "/_mesh/ui";

/**
 * No inline script or style anywhere (the charts are SVG built through the
 * DOM, which this policy allows), no framing, no form posts, no <base>
 * rewriting: an injected string in a service name cannot run.
 */
export const UI_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

interface Asset {
  body: string;
  type: string;
  etag: string | null;
}

/**
 * Without an icon of its own the browser asks for /favicon.ico, which is not
 * the mesh's to answer: it is a 404 in the page's console on every load, or,
 * under a service that routes "/", a request sent to that service's origins.
 */
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f5fd1"/><path d="M4 11h8M4 5h8M8 5v6" stroke="#fff" stroke-width="2"/></svg>';

const HTML = "text/html; charset=utf-8";
const JS = "text/javascript; charset=utf-8";

// Served under their source names: the browser resolves the modules' own imports (./chart.client.js) against these URLs.
const assets = new Map<string, Asset>([
  [UI_PATH, { body: page, type: HTML, etag: null }],
  [`${UI_PATH}/`, { body: page, type: HTML, etag: null }],
  [`${UI_PATH}/style.css`, { body: style, type: "text/css; charset=utf-8", etag: null }],
  [`${UI_PATH}/dashboard.client.js`, { body: script, type: JS, etag: null }],
  [`${UI_PATH}/model.client.js`, { body: modelScript, type: JS, etag: null }],
  [`${UI_PATH}/render.client.js`, { body: renderScript, type: JS, etag: null }],
  [`${UI_PATH}/chart.client.js`, { body: chartScript, type: JS, etag: null }],
  [`${UI_PATH}/favicon.svg`, { body: FAVICON, type: "image/svg+xml", etag: null }],
]);

/** Hashed once per isolate on first use, not at start-up: most isolates never serve the page. */
async function etagOf(asset: Asset): Promise<string> {
  asset.etag ??= `"${(await sha256Hex(asset.body)).slice(0, 32)}"`;
  return asset.etag;
}

export async function serveUi(request: Request, url: URL): Promise<Response> {
  const asset = assets.get(url.pathname);
  if (asset === undefined || (request.method !== "GET" && request.method !== "HEAD")) {
    return new MeshError(404, "not_found", "no such dashboard file").toResponse();
  }
  const etag = await etagOf(asset);
  const headers = new Headers({
    "content-type": asset.type,
    // Revalidated on every load: the ETag makes that a 304, and a new deploy is seen at once.
    "cache-control": "no-cache",
    etag,
    "content-security-policy": UI_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
  });
  if (ifNoneMatchMatches(request.headers.get("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  return new Response(request.method === "HEAD" ? null : asset.body, { headers });
}
