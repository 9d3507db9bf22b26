// @ts-check
// One bounded read of a JSON answer from the mesh, for the demo's read-backs
// (scripts/demo.mjs). Without a bound, a mesh that accepts the connection and
// never answers (a wedged or paused wrangler dev) left the demo waiting with
// nothing on screen, and its Ctrl-C path waiting too.

/** 5 s, as the registration client's calls: a local mesh answers an admin read in milliseconds. */
export const READ_TIMEOUT_MS = 5_000;

/**
 * GETs `url` and parses its JSON; the timeout covers the headers and the body.
 * Every failure is an Error whose message says what was read and why it failed.
 * @param {string} url
 * @param {{ what: string, headers?: Record<string, string>, timeoutMs?: number }} opts
 * @returns {Promise<unknown>}
 */
export async function readJson(url, { what, headers = {}, timeoutMs = READ_TIMEOUT_MS }) {
  let res;
  let text;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (err) {
    const timedOut = typeof err === "object" && err !== null && "name" in err && err.name === "TimeoutError";
    if (timedOut) throw new Error(`${what}: the mesh did not answer GET ${url} within ${timeoutMs} ms`, { cause: err });
    throw new Error(`${what}: GET ${url} failed: ${String(err)}`, { cause: err });
  }
  if (!res.ok) throw new Error(`${what}: GET ${url} answered HTTP ${res.status} ${text.slice(0, 200)}`);
  try {
    /** @type {unknown} */
    const parsed = JSON.parse(text);
    return parsed;
  } catch (err) {
    throw new Error(`${what}: GET ${url} answered something other than JSON: ${text.slice(0, 200)}`, { cause: err });
  }
}
