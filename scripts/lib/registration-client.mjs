// @ts-check
// The origin side of the protocol, as a small reusable client: register,
// renew the lease by heartbeat at a third of its length, re-register when the
// mesh answers 404 (lease expired or state lost), deregister on shutdown.
// Origins written in other languages follow the same four calls (docs/api.md).
//
// Every call is bounded by `timeoutMs` (5 s): a mesh that accepts a connection
// and never answers must not wedge the origin's shutdown. At most one heartbeat
// is in flight (a hung one is not joined by another each tick), and stop()
// waits for it, so a heartbeat's 404 cannot re-register an origin that stop()
// has just deregistered.
//
// start() tries again while the mesh is not there yet (origins start in any
// order): a network error, a 5xx or a 429 (after its Retry-After) is retried
// with capped, jittered exponential backoff until `retry.deadlineMs`; any
// other 4xx fails at once. stop() ends the wait between two attempts at once.
import { backoffMs, retryAfterMs, START_RETRY, transientStatus } from "./start-retry.mjs";

/** A registration that failed: `retryable` when asking again may succeed, `retryAfterMs` when the mesh said when. */
export class RegistrationError extends Error {
  /**
   * @param {string} message
   * @param {boolean} retryable
   * @param {number | null} retryAfter
   */
  constructor(message, retryable, retryAfter = null) {
    super(message);
    this.name = "RegistrationError";
    this.retryable = retryable;
    this.retryAfterMs = retryAfter;
  }
}

/** What a 4xx other than 429 most likely means, for the error's reader. */
const HINTS = /** @type {Record<number, string>} */ ({
  400: "the mesh refused the registration's fields (the origin URL?)",
  401: "check the registration token",
  403: "check the registration token",
  404: "check the service name: the mesh has no such service",
});

/**
 * @param {{ mesh: string, service: string, token: string, url: string, weight?: number, zone?: string,
 *           ttlSeconds?: number, timeoutMs?: number, retry?: Partial<import("./start-retry.mjs").StartRetry>,
 *           log?: (line: string) => void }} opts
 */
export function registration(opts) {
  const ttl = opts.ttlSeconds ?? 30;
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 5000;
  const retry = {
    deadlineMs: opts.retry?.deadlineMs ?? START_RETRY.deadlineMs,
    baseDelayMs: opts.retry?.baseDelayMs ?? START_RETRY.baseDelayMs,
    maxDelayMs: opts.retry?.maxDelayMs ?? START_RETRY.maxDelayMs,
  };
  const headers = { authorization: `Bearer ${opts.token}`, "content-type": "application/json" };
  /** @type {string | null} */
  let id = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;
  /** The registration in flight, if any: stop() waits for it, so a Ctrl-C during start-up cannot leave a member behind. */
  /** @type {Promise<unknown> | null} */
  let starting = null;
  /** The heartbeat in flight, if any. @type {Promise<unknown> | null} */
  let beating = null;
  let stopped = false;
  /** Ends start()'s wait between two attempts; set while it waits. @type {(() => void) | null} */
  let wake = null;

  /** One registration attempt; a failure is a RegistrationError that says whether to try again. */
  async function register() {
    let res;
    let text;
    try {
      res = await fetch(`${opts.mesh}/_mesh/v1/services/${opts.service}/instances`, {
        method: "POST",
        headers,
        signal: AbortSignal.timeout(timeoutMs),
        body: JSON.stringify({ url: opts.url, weight: opts.weight, zone: opts.zone, ttlSeconds: ttl }),
      });
      text = await res.text();
    } catch (err) {
      throw new RegistrationError(`register ${opts.url}: mesh ${opts.mesh} not reachable: ${String(err)}`, true);
    }
    // A proxy in front of the mesh may answer an error page: the status decides, the body is only shown.
    /** @type {unknown} */
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: shown as the text it is.
    }
    if (res.status !== 201 && res.status !== 200) {
      const header = res.headers.get("retry-after");
      // The header as sent (its start), so a wait it did or did not cause can be traced to it.
      const what = `register ${opts.url}: ${res.status} ${JSON.stringify(body)}${header === null ? "" : ` (Retry-After: ${JSON.stringify(header.slice(0, 64))})`}`;
      if (transientStatus(res.status)) throw new RegistrationError(what, true, retryAfterMs(header, Date.now()));
      throw new RegistrationError(`${what}; not retried: ${HINTS[res.status] ?? "the mesh refused the registration"}`, false);
    }
    // The registration answer's contract (docs/api.md): an object with the instance id.
    if (typeof body !== "object" || body === null || !("id" in body) || typeof body.id !== "string") {
      throw new RegistrationError(`register ${opts.url}: answer without an id: ${JSON.stringify(body)}`, false);
    }
    id = body.id;
    log(`registered ${opts.url} as ${id}`);
    return body;
  }

  /** Waits `ms`, or less if stop() is called meanwhile. @param {number} ms */
  function pause(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(sleeping);
        wake = null;
        resolve(undefined);
      };
      const sleeping = setTimeout(done, ms);
      wake = done;
    });
  }

  /**
   * Registers, trying again on transient failures until the deadline. An
   * attempt in flight is never cut short by stop(): the mesh may have
   * accepted it, and stop() must learn the id to deregister it.
   */
  async function registerPatiently() {
    const first = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (stopped) throw new RegistrationError(`register ${opts.url}: stopped before the mesh accepted the registration`, false);
      try {
        return await register();
      } catch (err) {
        if (!(err instanceof RegistrationError) || !err.retryable) throw err;
        const left = first + retry.deadlineMs - Date.now();
        const giveUp = `register ${opts.url}: gave up after ${attempt + 1} attempt(s) in ${Date.now() - first} ms (retry.deadlineMs ${retry.deadlineMs}); last: ${err.message}`;
        if (left <= 0) throw new RegistrationError(giveUp, false);
        // The mesh said when; asking earlier would only be refused again.
        if (err.retryAfterMs !== null && err.retryAfterMs > left) throw new RegistrationError(`${giveUp}; it asked to wait ${err.retryAfterMs} ms`, false);
        // Never sooner than the backoff either: a "Retry-After: 0" answered every time must not become a tight loop.
        const wait = Math.max(err.retryAfterMs ?? 0, Math.min(left, backoffMs(attempt, retry, Math.random())));
        if (stopped) continue;
        log(`${err.message}; trying again in ${wait} ms`);
        await pause(wait);
      }
    }
  }

  async function heartbeat() {
    if (id === null) return register();
    const res = await fetch(`${opts.mesh}/_mesh/v1/services/${opts.service}/instances/${id}/heartbeat`, {
      method: "PUT",
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    if (res.status === 404) {
      if (stopped) return undefined;
      log(`lease for ${opts.url} was gone; registering again`);
      return register();
    }
    if (res.status !== 200) log(`heartbeat for ${opts.url}: HTTP ${res.status}`);
    return undefined;
  }

  return {
    get id() {
      return id;
    },
    async start() {
      const pending = registerPatiently();
      starting = pending;
      const body = await pending;
      if (stopped) return body;
      timer = setInterval(() => {
        if (beating !== null) return;
        beating = heartbeat()
          .catch((/** @type {unknown} */ err) => log(`heartbeat failed: ${String(err)}`))
          .finally(() => (beating = null));
      }, (ttl * 1000) / 3);
      timer.unref?.();
      return body;
    },
    heartbeat,
    async stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      stopped = true;
      wake?.();
      await starting?.catch(() => {});
      await beating;
      if (id === null) return;
      const res = await fetch(`${opts.mesh}/_mesh/v1/services/${opts.service}/instances/${id}`, {
        method: "DELETE",
        headers,
        signal: AbortSignal.timeout(timeoutMs),
      }).catch((/** @type {unknown} */ err) => {
        throw new Error(`deregister ${opts.url}: ${String(err)}`);
      });
      const text = await res.text();
      // 404: the lease had already gone, which is the state deregistering asks for.
      if (res.status === 404) log(`${opts.url} was no longer registered`);
      else if (res.ok) log(`deregistered ${opts.url}`);
      else throw new Error(`deregister ${opts.url}: ${res.status} ${text}`);
      id = null;
    },
  };
}
