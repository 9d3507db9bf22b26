import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startOrigins, type Origin } from "../../scripts/lib/origin.mjs";
import { startWorker } from "../../scripts/lib/mesh-runtime.mjs";
import { ADMIN_TOKEN, api, createService, load, type Harness } from "./harness.js";

/**
 * The deployable bundle with the optional Analytics Engine dataset bound, as
 * the commented-out `[[analytics_engine_datasets]]` block in wrangler.toml
 * binds it once uncommented. Locally a write is a no-op that keeps nothing, so
 * this shows only that the bound sink leaves every answer as it was and logs
 * no failure; what each point says is checked where it is made, in
 * test/unit/events/analytics-point.test.ts (and what the router hands the
 * binding, in test/worker/router/analytics-sink.test.ts).
 */
describe("end to end: the Analytics Engine sink, bound", () => {
  let h: Harness;
  let origins: Origin[];
  const SERVICE = "counted";
  const EMPTY = "counted-empty";
  let output = "";

  beforeAll(async () => {
    const mesh = await startWorker({
      bundleDir: inject("meshBundleDir"),
      // Every request line on: they show that the runtime's output below is really captured.
      bindings: { MESH_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "json", REQUEST_LOG_SAMPLE: "1" },
      miniflare: {
        analyticsEngineDatasets: { ANALYTICS: { dataset: "switchyard" } },
        // Kept: the sink logs a failed write as an `analytics_write_failed` error line, which must not appear.
        handleRuntimeStdio(out: Readable, err: Readable) {
          for (const stream of [out, err]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
        },
      },
    });
    origins = await startOrigins(2, "ae");
    h = { mesh, origins, close: async () => undefined };
    await createService(h, SERVICE, { routes: { pathPrefixes: [`/${SERVICE}`] }, retry: { attempts: 2, perTryTimeoutMs: 1000 } });
    const empty = await api(h, "PUT", `/_mesh/v1/services/${EMPTY}`, { routes: { pathPrefixes: [`/${EMPTY}`] } });
    expect(empty.status).toBe(201);
  });

  afterAll(async () => {
    await Promise.all(origins.map((o) => o.stop()));
    await h.mesh.dispose();
  });

  it("has the dataset bound in the running Worker", async () => {
    const bindings = await h.mesh.mf.getBindings<{ ANALYTICS?: { writeDataPoint?: unknown } }>();
    expect(typeof bindings.ANALYTICS?.writeDataPoint).toBe("function");
  });

  it("answers proxied requests 200, a failover's included", async () => {
    const before = await load(`${h.mesh.url}/${SERVICE}/items`, 20, 4);
    expect(before.errors).toEqual([]);
    expect(before.statuses.get(200)).toBe(20);
    // Connection refused on one origin: round-robin sends half the requests there first, and they fail over.
    await origins[0]?.stop();
    const during = await load(`${h.mesh.url}/${SERVICE}/items`, 10, 1);
    expect(during.errors).toEqual([]);
    expect(during.statuses.get(200)).toBe(10);
  });

  it("answers the mesh's own refusals as without it: 503 with nothing to try, 404 with no route", async () => {
    const none = await fetch(`${h.mesh.url}/${EMPTY}/x`);
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ error: "no_healthy_instance" });
    const lost = await fetch(`${h.mesh.url}/nowhere/x`);
    expect(lost.status).toBe(404);
    await lost.arrayBuffer();
  });

  it("logged no failed write and no router error", () => {
    // The capture works: the request lines of the requests above are in it.
    expect(output).toContain('"outcome":"failed_over"');
    expect(output).not.toContain("analytics_write_failed");
    expect(output).not.toContain("router_error");
  });
});
