import { env, exports } from "cloudflare:workers";
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { vi } from "vitest";
import worker from "../../workers/mesh/index.js";
import { routeRegistry } from "../../src/registry/route-registry.js";
import type { ServiceCoordinator } from "../../src/coordinator/service-coordinator.js";
import { serviceConfigSchema, type ServiceConfigInput } from "../../src/core/schema/service.js";
import { putService } from "../../src/registry/kv-registry.js";

/** What the loopback origins (scripts/lib/origin.mjs) answer: the request as they received it. */
export interface Echo {
  origin: string;
  method: string;
  path: string;
  query: string;
  /** The request target exactly as the origin received it. */
  target: string;
  headers: Record<string, string>;
  body: string;
}

export const ADMIN = { authorization: "Bearer test-admin-token" };

export function stubFor(name: string): DurableObjectStub<ServiceCoordinator> {
  return env.SERVICES.get(env.SERVICES.idFromName(name));
}

/** Puts every loopback origin back to healthy, 200, no delay and no standing fault (after tests that steer them). */
export async function resetOrigins(): Promise<void> {
  await Promise.all(originUrls().map((u) => control(u, { healthy: true, status: null, delayMs: 0, fault: null })));
}

export function originUrls(): string[] {
  return env.ORIGIN_PORTS.split(",").map((p) => `http://127.0.0.1:${p}`);
}

export function mesh(path: string, init: RequestInit = {}): Promise<Response> {
  const url = path.startsWith("http") ? path : `http://mesh.test${path}`;
  return exports.default.fetch(new Request(url, init));
}

/**
 * The mesh's own fetch handler, called directly with rate limits off, for tests whose calls are
 * many and at once (or are not about limits); the body is read and waitUntil work done before it returns.
 */
export async function meshUnlimited(path: string, init: RequestInit<IncomingRequestCfProperties> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://mesh.test${path}`, init), { ...env, CONTROL_PLANE_RATE_LIMITS: "off" }, ctx);
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

export function json(method: string, body: unknown, headers: Record<string, string> = ADMIN): RequestInit {
  return { method, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) };
}

let counter = 0;
/** A fresh, unique service name per call, so tests sharing storage never collide. */
export function uniqueName(prefix = "svc"): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

export async function createService(
  name: string,
  config: ServiceConfigInput,
): Promise<{ token: string; body: Record<string, unknown> }> {
  const res = await mesh(`/_mesh/v1/services/${name}`, json("PUT", config));
  const body = await res.json<{ registrationToken?: string } & Record<string, unknown>>();
  if (res.status !== 201 || typeof body.registrationToken !== "string") {
    throw new Error(`create ${name} failed: ${res.status} ${JSON.stringify(body)}`);
  }
  return { token: body.registrationToken, body };
}

export async function register(
  name: string,
  token: string,
  url: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; leaseExpiresAt: string; heartbeatUrl: string }> {
  const res = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url, ...extra }, { authorization: `Bearer ${token}` }));
  if (res.status !== 201 && res.status !== 200) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return await res.json<{ id: string; leaseExpiresAt: string; heartbeatUrl: string }>();
}

export async function control(url: string, cmd: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/__control`, { method: "POST", body: JSON.stringify(cmd) });
  await res.text();
}

/** A service routed at `/<name>` with the first `n` loopback origins registered; returns its name and instance ids. */
export async function serviceWith(n: number, config: Record<string, unknown> = {}): Promise<{ name: string; ids: string[] }> {
  const name = uniqueName("rt");
  const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, ...config });
  const ids: string[] = [];
  for (const url of originUrls().slice(0, n)) ids.push((await register(name, token, url)).id);
  return { name, ids };
}

/**
 * Runs the route registry's flush alarm and waits until everything it holds is in KV. After a quiet
 * spell the alarm is due at once, so the runtime may already be running it, mid-write, when the test
 * asks: runDurableObjectAlarm then finds nothing to run and returns before KV holds the flush (a race
 * seen under the whole suite's load).
 */
export async function flushRouteIndex(): Promise<void> {
  const registry = routeRegistry(env);
  await runDurableObjectAlarm(registry);
  for (let waited = 0; ; waited += 20) {
    const s = await registry.state();
    // Shards never changed are holes in `shards` (undefined once over RPC): 0, as the registry reads them.
    if (Array.from({ length: Math.max(s.shards.length, s.written.length) }, (_, k) => k).every((k) => (s.shards[k] ?? 0) === (s.written[k] ?? 0))) return;
    if (waited >= 3_000) throw new Error(`the route registry still had unwritten shards after 3 s: ${JSON.stringify(s)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Service records as `PUT /services/{name}` writes them, put straight into KV,
 * with no coordinator configured yet (the cron sweep configures each it
 * reaches): creating a hundred or more through the API would run into the
 * admin token's control-plane rate limit (20/s).
 */
export async function seedServiceRecords(names: readonly string[]): Promise<void> {
  const now = Date.now();
  await Promise.all(
    names.map((name) =>
      putService(env.REGISTRY, {
        name,
        config: serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${name}`] }, healthCheck: { intervalSeconds: 3600, timeoutMs: 1000 } }),
        tokenHash: "0".repeat(64),
        createdAt: now,
        updatedAt: now,
      }),
    ),
  );
}

/**
 * A service with one registered instance on a 10 s lease, removed 30 s after
 * it lapses, whose coordinator has lost its alarm: what the cron sweep is the
 * net under. Health checks are a minute apart so that no round runs meanwhile.
 */
export async function leasedServiceWithLostAlarm(prefix: string): Promise<{ name: string; id: string; stub: DurableObjectStub<ServiceCoordinator> }> {
  const name = uniqueName(prefix);
  const { token } = await createService(name, {
    routes: { pathPrefixes: [`/${name}`] },
    lease: { ttlSeconds: 10, deregisterAfterSeconds: 30 },
    healthCheck: { intervalSeconds: 60, timeoutMs: 1000 },
  });
  const reg = await register(name, token, originUrls()[0] ?? "");
  const stub = stubFor(name);
  await runInDurableObject(stub, (_i, state) => state.storage.deleteAlarm());
  return { name, id: reg.id, stub };
}

/**
 * One request through the mesh's fetch handler with its own ExecutionContext and the request line on
 * (REQUEST_LOG "json"; `overrides` go over env): `read` consumes the body before the context is awaited,
 * and `logs` are the console lines it wrote, parsed.
 */
export async function exchange<T>(
  url: string,
  init: RequestInit,
  read: (res: Response) => Promise<T>,
  overrides: Partial<Env> = {},
): Promise<{ res: Response; read: T; logs: Record<string, unknown>[] }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  const ctx = createExecutionContext();
  try {
    const res = await worker.fetch(new Request(url, init) as Request<unknown, IncomingRequestCfProperties>, { ...env, REQUEST_LOG: "json", ...overrides }, ctx);
    const value = await read(res);
    await waitOnExecutionContext(ctx);
    return { res, read: value, logs: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
  } finally {
    spy.mockRestore();
  }
}
