// @ts-check
// The origin side of the protocol, as a small reusable client: register,
// renew the lease by heartbeat at a third of its length, re-register when the
// mesh answers 404 (lease expired or state lost), deregister on shutdown.
// Origins written in other languages follow the same four calls (docs/api.md).

/**
 * @param {{ mesh: string, service: string, token: string, url: string, weight?: number, zone?: string,
 *           ttlSeconds?: number, log?: (line: string) => void }} opts
 */
export function registration(opts) {
  const ttl = opts.ttlSeconds ?? 30;
  const log = opts.log ?? (() => {});
  const headers = { authorization: `Bearer ${opts.token}`, "content-type": "application/json" };
  /** @type {string | null} */
  let id = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;
  /** The registration in flight, if any: stop() waits for it, so a Ctrl-C during start-up cannot leave a member behind. */
  /** @type {Promise<unknown> | null} */
  let starting = null;

  async function register() {
    const res = await fetch(`${opts.mesh}/_mesh/v1/services/${opts.service}/instances`, {
      method: "POST",
      headers,
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
    const res = await fetch(`${opts.mesh}/_mesh/v1/services/${opts.service}/instances/${id}/heartbeat`, { method: "PUT", headers });
    await res.arrayBuffer();
    if (res.status === 404) {
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
      timer = setInterval(() => {
        heartbeat().catch((/** @type {unknown} */ err) => log(`heartbeat failed: ${String(err)}`));
      }, (ttl * 1000) / 3);
      timer.unref?.();
      return body;
    },
    heartbeat,
    async stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      await starting?.catch(() => {});
      if (id === null) return;
      const res = await fetch(`${opts.mesh}/_mesh/v1/services/${opts.service}/instances/${id}`, { method: "DELETE", headers });
      const text = await res.text();
      // 404: the lease had already gone, which is the state deregistering asks for.
      if (res.status === 404) log(`${opts.url} was no longer registered`);
      else if (res.ok) log(`deregistered ${opts.url}`);
      else throw new Error(`deregister ${opts.url}: ${res.status} ${text}`);
      id = null;
    },
  };
}
