// The mesh's control plane, as the bench drives it: create a service, register
// instances, read state. Setup calls use fetch; the throughput measurements in
// scenarios/control-plane.mjs use their own keep-alive agent.

/** @param {string} base mesh URL @param {string} adminToken */
export function meshClient(base, adminToken) {
  const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };

  async function call(method, path, body, headers = admin) {
    let res;
    try {
      res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (err) {
      // undici says only "fetch failed"; the reason (a reset, a refused connection) is in its cause.
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
      throw new Error(`${method} ${path}: ${err instanceof Error ? err.message : String(err)}${cause}`, { cause: err });
    }
    const text = await res.text();
    /** @type {unknown} */
    let json;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      json = { raw: text };
    }
    return { status: res.status, body: json };
  }

  return {
    base,
    /** Creates (or replaces) a service; returns its registration token (null when it already existed). */
    async putService(name, config) {
      const r = await call("PUT", `/_mesh/v1/services/${name}`, config);
      if (r.status !== 201 && r.status !== 200) throw new Error(`PUT service ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.registrationToken ?? null;
    },
    async register(name, token, url, extra = {}) {
      const r = await call("POST", `/_mesh/v1/services/${name}/instances`, { url, ...extra }, { authorization: `Bearer ${token}`, "content-type": "application/json" });
      if (r.status !== 201 && r.status !== 200) throw new Error(`register ${url}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async heartbeat(name, token, id) {
      const r = await call("PUT", `/_mesh/v1/services/${name}/instances/${id}/heartbeat`, undefined, { authorization: `Bearer ${token}` });
      if (r.status !== 200) throw new Error(`heartbeat ${name}/${id}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    /** The API's cheapest call: no auth, no KV, no Durable Object (what any request through the runtime costs). */
    async healthz() {
      const r = await call("GET", "/_mesh/v1/healthz", undefined, {});
      if (r.status !== 200) throw new Error(`healthz: ${r.status} ${JSON.stringify(r.body)}`);
    },
    /** @returns {Promise<{ instances: { id: string, url: string, state: string, lastCheckAt: string | null }[] }>} */
    async describe(name) {
      const r = await call("GET", `/_mesh/v1/services/${name}`);
      if (r.status !== 200) throw new Error(`GET service ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async deleteService(name) {
      const r = await call("DELETE", `/_mesh/v1/services/${name}`);
      if (r.status !== 200 && r.status !== 404) throw new Error(`DELETE service ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    },
  };
}

/** Runs `work(i)` for i in [0, count) with at most `limit` in flight. */
export async function pool(count, limit, work) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) {
      const i = next++;
      await work(i);
    }
  });
  await Promise.all(lanes);
}
