import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { ADMIN_WRITE_WAIT_MS } from "../../../src/core/admin/admin-queue.js";
import type { ServiceRecord } from "../../../src/core/schema/service.js";
import { routeRegistry } from "../../../src/registry/route-registry.js";
import { ADMIN, stubFor, uniqueName, meshUnlimited } from "../helpers.js";

/**
 * A service's admin writes take turns in its coordinator (core/admin/admin-queue.ts). Here one of
 * them never answers, for real: the route registry is held in blockConcurrencyWhile, as an object
 * stuck in its own work would be, so the PUT's route claim waits unanswered. The callers behind it
 * must get a 503 they can retry within ADMIN_WRITE_WAIT_MS (10 s: the test takes that long, since
 * the bound is a constant and not a setting), and once the registry answers again writes go
 * through as before, while the write the queue moved on past stops where it was rather than write
 * over the ones after it. Rate limits are off: nothing here is about them.
 */
const call = meshUnlimited;

const put = (name: string, tag: string) =>
  call(`/_mesh/v1/services/${name}`, {
    method: "PUT",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ routes: { pathPrefixes: [`/${name}-${tag}`] } }),
  });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Holds the route registry until `release()`: every claim sent meanwhile waits, unanswered. */
async function holdRegistry(): Promise<{ release: () => void; released: Promise<void> }> {
  let begun = false;
  let release = (): void => undefined;
  const opened = new Promise<void>((resolve) => (release = resolve));
  const released = runInDurableObject(routeRegistry(env), (_i, state) =>
    state.blockConcurrencyWhile(async () => {
      begun = true;
      await opened;
    }),
  );
  while (!begun) await sleep(1);
  return { release, released };
}

/** The path prefix each store holds for `name`. */
async function stores(name: string): Promise<{ kv: string | null; coordinator: string | null; registry: string | null }> {
  type Prefixed = { routes: { pathPrefixes: string[] } };
  const record = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
  const config = await runInDurableObject(stubFor(name), (_i, state) =>
    state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'config'").toArray()[0]?.value ?? null,
  );
  const routed = await runInDurableObject(routeRegistry(env), (_i, state) =>
    state.storage.sql.exec<{ body: string }>("SELECT body FROM routed WHERE name = ?", name).toArray()[0]?.body ?? null,
  );
  const prefix = (json: string | null) => (json === null ? null : ((JSON.parse(json) as Prefixed).routes.pathPrefixes[0] ?? null));
  return { kv: record?.config.routes.pathPrefixes[0] ?? null, coordinator: prefix(config), registry: prefix(routed) };
}

/** Sends a PUT and notes how long its answer took. */
async function timedPut(name: string, tag: string): Promise<{ res: Response; body: { error: string; message: string }; tookMs: number }> {
  const sent = Date.now();
  const res = await put(name, tag);
  const tookMs = Date.now() - sent;
  return { res, body: await res.json<{ error: string; message: string }>(), tookMs };
}

describe("an admin write that never answers", { timeout: 40_000 }, () => {
  it("the writes behind it answer 503 registry_unavailable with Retry-After within the bound, and writes go through once it clears", async () => {
    const name = uniqueName("hang");
    expect((await put(name, "0")).status).toBe(201);
    const hold = await holdRegistry();
    let released = false;
    // The coordinator runs in this isolate: its log lines about this service are read here.
    const warn = vi.spyOn(console, "warn");
    type Line = { event?: string; service?: string; write?: string; after?: string };
    const logged = () =>
      warn.mock.calls
        .map(([line]) => (typeof line === "string" && line.startsWith("{") ? (JSON.parse(line) as Line) : {}))
        .filter((entry) => entry.service === name)
        .map((entry) => `${entry.event ?? ""} ${entry.write ?? ""}${entry.after === undefined ? "" : ` after ${entry.after}`}`);
    try {
      // The first PUT's route claim waits in the held registry. The second waits behind it until the
      // queue moves on past it (it has then run 10 s), starts, and waits in the registry in turn; the
      // third is still waiting behind the second when its own 10 s are up. Each is sent once the one
      // before it has reached the coordinator, so their turns are in that order.
      const first = timedPut(name, "1");
      await sleep(300);
      const second = timedPut(name, "2");
      await sleep(300);
      const third = timedPut(name, "3");
      const answers = await Promise.all([first, second, third]);

      for (const { res, body, tookMs } of answers) {
        expect({ status: res.status, retryAfter: res.headers.get("retry-after"), error: body.error }).toEqual({
          status: 503,
          retryAfter: "1",
          error: "registry_unavailable",
        });
        // Answered at the bound (from its arrival at the coordinator), not before and not much after.
        expect(tookMs).toBeGreaterThanOrEqual(ADMIN_WRITE_WAIT_MS - 50);
        expect(tookMs).toBeLessThan(ADMIN_WRITE_WAIT_MS + 2_000);
      }
      const started = `the write of service '${name}' did not finish within 10 s and may still complete; GET /_mesh/v1/services/${name} shows the outcome`;
      const notStarted = `this write of service '${name}' waited 10 s behind earlier ones without starting; it was not made, retry shortly`;
      expect(answers.map((a) => a.body.message)).toEqual([started, started, notStarted]);

      hold.release();
      released = true;
      await hold.released;
      // The registry answers again: the second PUT (started, not yet passed) finishes, then this one takes its turn.
      const after = await put(name, "4");
      expect(after.status).toBe(200);
      expect(await stores(name)).toEqual({ kv: `/${name}-4`, coordinator: `/${name}-4`, registry: `/${name}-4` });
      // The first PUT, passed, stopped once its claim answered: its record write would have come after the second's claim.
      expect(logged()).toEqual([
        "admin_write_overran put",
        "admin_write_passed put",
        "admin_write_overran put",
        "admin_write_abandoned put",
        "admin_write_stopped put after route claim",
      ]);
      const shown = await call(`/_mesh/v1/services/${name}`, { headers: ADMIN });
      expect((await shown.json<{ service: { config: { routes: { pathPrefixes: string[] } } } }>()).service.config.routes.pathPrefixes).toEqual([`/${name}-4`]);
    } finally {
      warn.mockRestore();
      if (!released) hold.release();
      await hold.released;
    }
  });
});
