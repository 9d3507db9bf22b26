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

/**
 * @param {{ mesh: string, service: string, token: string, url: string, weight?: number, zone?: string,
 *           ttlSeconds?: number, timeoutMs?: number, log?: (line: string) => void }} opts
 */
export function registration(opts) {
  const ttl = opts.ttlSeconds ?? 30;
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 5000;
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

  async function register() {
    const res = await fetch(`${opts.mesh}/_mesh/v1/services/${opts.service}/instances`, {
      method: "POST",
      headers,
      signal: AbortSignal.timeout(timeoutMs),
      body: JSON.stringify({ url: opts.url, weight: opts.weight, zone: opts.zone, ttlSeconds: ttl }),
    });
    /** @type {unknown} */
    const body = await res.json();
    if (res.status !== 201 && res.status !== 200) throw new Error(`register ${opts.url}: ${res.status} ${JSON.stringify(body)}`);
    // The registration answer's contract (docs/api.md): an object with the instance id.
    if (typeof body !== "object" || body === null || !("id" in body) || typeof body.id !== "string") {
      throw new Error(`register ${opts.url}: answer without an id: ${JSON.stringify(body)}`);
    }
    id = body.id;
    log(`registered ${opts.url} as ${id}`);
    return body;
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
      const pending = register();
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
