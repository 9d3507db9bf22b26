import { connect, type Socket } from "node:net";
import { inject } from "vitest";
import { startOrigins, type Origin } from "../../scripts/lib/origin.mjs";
import { startWorker, type RunningWorker } from "../../scripts/lib/mesh-runtime.mjs";

export const ADMIN_TOKEN = "e2e-admin-token";

export interface Harness {
  mesh: RunningWorker;
  origins: Origin[];
  close(): Promise<void>;
}

/** The deployable bundle (built once, test/e2e/global-setup.ts) in workerd (Miniflare) plus real origins, all on 127.0.0.1. */
export async function startHarness(originCount: number): Promise<Harness> {
  const mesh = await startWorker({
    bundleDir: inject("meshBundleDir"),
    bindings: { MESH_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" },
  });
  const origins = await startOrigins(originCount, "e2e");
  return {
    mesh,
    origins,
    async close() {
      await Promise.all(origins.map((o) => o.stop()));
      await mesh.dispose();
    },
  };
}

/** One JSON call to the mesh at `baseUrl` with a bearer token: for files that start their own mesh instead of a Harness. */
export async function meshCall<T>(baseUrl: string, method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export function api<T>(h: Harness, method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<{ status: number; body: T }> {
  return meshCall<T>(h.mesh.url, method, path, body, token);
}

/** Part of `GET /_mesh/v1/services/{name}`: what the e2e tests read back about instances. */
export interface ServiceReply {
  instances: { id: string; url: string; state: string; failures: number; ejectedUntil: string | null }[];
}

/** Creates `name` with `config` and registers every harness origin; returns the registration token. */
export async function createService(h: Harness, name: string, config: Record<string, unknown>): Promise<string> {
  const created = await api<{ registrationToken: string }>(h, "PUT", `/_mesh/v1/services/${name}`, config);
  if (created.status !== 201) throw new Error(`create ${name}: ${created.status}`);
  const token = created.body.registrationToken;
  for (const o of h.origins) {
    const reg = await api(h, "POST", `/_mesh/v1/services/${name}/instances`, { url: o.url }, token);
    if (reg.status !== 201) throw new Error(`register ${o.url}: ${reg.status}`);
  }
  return token;
}

/** Waits, with a hard deadline, until `check` holds; e2e runs on the real clock. */
export async function until(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
}

export interface LoadResult {
  statuses: Map<number, number>;
  byOrigin: Map<string, number>;
  errors: string[];
}

/** Sends `total` GETs with `concurrency` in flight; `onSent(i)` runs before request i. */
export async function load(
  url: string,
  total: number,
  concurrency: number,
  onSent: (i: number) => Promise<void> | void = () => undefined,
): Promise<LoadResult> {
  const result: LoadResult = { statuses: new Map(), byOrigin: new Map(), errors: [] };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      await onSent(i);
      try {
        const res = await fetch(url);
        const text = await res.text();
        result.statuses.set(res.status, (result.statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) {
          const origin = (JSON.parse(text) as { origin: string }).origin;
          result.byOrigin.set(origin, (result.byOrigin.get(origin) ?? 0) + 1);
        } else {
          result.errors.push(`${res.status} ${text.slice(0, 200)}`);
        }
      } catch (err) {
        result.errors.push(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return result;
}

/** A client on a raw socket that sends one GET and can hang up with a reset; `received` is what it got back so far. */
export interface RawClient {
  received(): string;
  hangUp(): void;
}

export async function rawClient(base: string, path: string): Promise<RawClient> {
  const { hostname, port } = new URL(base);
  let received = "";
  const socket: Socket = connect(Number(port), hostname);
  socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
  return { received: () => received, hangUp: () => socket.resetAndDestroy() };
}
