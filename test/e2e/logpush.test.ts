import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { meshEventSchema, MESH_EVENT_KINDS, type MeshEvent } from "../../src/core/events/mesh-event.js";
import { startOrigins, type Origin } from "../../scripts/lib/origin.mjs";
import { exportObjects, startMeshWithLogpush, type MeshWithLogpush } from "../../scripts/lib/logpush-local.mjs";
import { buildReport } from "../../scripts/logs-report/report.mjs";
import { ADMIN_TOKEN, createService, until, type Harness } from "./harness.js";

/**
 * The Logpush path end to end: real requests through the deployable mesh
 * bundle, its trace events received by the local Logpush tail Worker and
 * written to (Miniflare's) R2, the objects read back and every mesh line in
 * them validated against the versioned schema, then reported on by logs:report.
 */
describe("end to end: events, trace context and the local Logpush", () => {
  let mesh: MeshWithLogpush;
  let origins: Origin[];
  let h: Harness;
  let dir = "";
  const SERVICE = "logged";
  const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  const PARENT = "00f067aa0ba902b7";

  beforeAll(async () => {
    mesh = await startMeshWithLogpush({
      meshBundleDir: inject("meshBundleDir"),
      // Every line (wrangler.toml ships REQUEST_LOG_SAMPLE = "0.1"), so that each request below can be found and
      // checked field by field; the sampled lines' weights are test/worker/router/log-sample.test.ts's.
      bindings: { MESH_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "json", REQUEST_LOG_SAMPLE: "1" },
      // The lines are read back from R2, the point of the test; on the test's own output they would only be noise.
      miniflare: {
        handleRuntimeStdio(stdout: Readable, stderr: Readable) {
          stdout.resume();
          stderr.resume();
        },
      },
    });
    origins = await startOrigins(2, "logpush");
    h = { mesh, origins, close: async () => undefined };
    await createService(h, SERVICE, {
      routes: { pathPrefixes: [`/${SERVICE}`] },
      healthCheck: { intervalSeconds: 1, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 },
      retry: { attempts: 2, perTryTimeoutMs: 1000 },
    });
    dir = await mkdtemp(path.join(tmpdir(), "logpush-e2e-"));
  });

  afterAll(async () => {
    await Promise.all(origins.map((o) => o.stop()));
    await mesh.dispose();
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  interface Echo {
    headers: Record<string, string | undefined>;
  }

  it("forwards a child traceparent and the tracestate of a valid incoming trace", async () => {
    const res = await fetch(`${mesh.url}/${SERVICE}/traced`, {
      headers: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: "vendor=abc,other=1" },
    });
    expect(res.status).toBe(200);
    const echo = await res.json() as Echo;
    const sent = echo.headers.traceparent ?? "";
    expect(sent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    expect(sent).not.toContain(PARENT);
    expect(echo.headers.tracestate).toBe("vendor=abc,other=1");
  });

  it("starts a new trace for a missing or invalid traceparent, and drops the tracestate that came with it", async () => {
    const cases: Record<string, string>[] = [{}, { traceparent: `00-${TRACE.toUpperCase()}-${PARENT}-01`, tracestate: "vendor=abc" }];
    for (const headers of cases) {
      const res = await fetch(`${mesh.url}/${SERVICE}/fresh`, { headers });
      const echo = await res.json() as Echo;
      const sent = echo.headers.traceparent ?? "";
      expect(sent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(sent).not.toContain(TRACE);
      expect(echo.headers.tracestate).toBeUndefined();
    }
  });

  it("writes Logpush objects whose every mesh line validates against the versioned schema", async () => {
    for (let i = 0; i < 20; i++) expect((await fetch(`${mesh.url}/${SERVICE}/items/${i}`)).status).toBe(200);
    const upload = await fetch(`${mesh.url}/${SERVICE}/upload`, { method: "POST", body: "x".repeat(1234), headers: { traceparent: `00-${TRACE}-${PARENT}-01` } });
    expect(upload.status).toBe(200);
    await upload.text();
    expect((await fetch(`${mesh.url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${mesh.url}/${SERVICE}/head`, { method: "HEAD" })).status).toBe(200);
    // An origin that dies: the coordinator's health rounds log the transition (a Durable Object alarm's trace).
    const victim = origins[1];
    if (victim === undefined) throw new Error("no second origin");
    await victim.stop();

    let events: MeshEvent[] = [];
    let keys: string[] = [];
    await until("a health_transition event in the Logpush objects", 30_000, async () => {
      await rm(dir, { recursive: true, force: true });
      keys = await exportObjects(mesh, dir);
      events = await readEvents(keys);
      return events.some((e) => e.event === "health_transition") && events.filter((e) => e.event === "request").length >= 25;
    });

    for (const key of keys) expect(key).toMatch(/^\d{8}\/\d{8}T\d{6}Z_\d{8}T\d{6}Z_[0-9a-f]{8}\.log\.gz$/);
    const requests = events.flatMap((e) => (e.event === "request" ? [e] : []));
    const items = requests.filter((e) => e.path.startsWith(`/${SERVICE}/items/`));
    expect(items).toHaveLength(20);
    for (const e of items) {
      // With REQUEST_LOG_SAMPLE = "1", every line is written and stands for one request.
      expect(e).toMatchObject({ v: 1, service: SERVICE, status: 200, outcome: "ok", method: "GET", bytesIn: 0, weight: 1 });
      expect(e.upstreamLatencyMs).not.toBeNull();
      expect(e.upstreamLatencyMs ?? Infinity).toBeLessThanOrEqual(e.latencyMs);
      expect(e.requestId.length).toBeGreaterThan(0);
    }
    // The test origin answers chunked (writeHead, then end): no Content-Length, but the router read each
    // small answer ahead to its end (retry.readAheadMs), so it counted the bytes it relayed.
    for (const e of items) expect(e.bytesOut).toBeGreaterThan(0);
    expect(requests.find((e) => e.path === `/${SERVICE}/head`)).toMatchObject({ method: "HEAD", status: 200, bytesOut: 0 });
    const posted = requests.find((e) => e.path === `/${SERVICE}/upload`);
    expect(posted).toMatchObject({ method: "POST", bytesIn: 1234, traceId: TRACE });
    expect(posted?.spanId).not.toBe(PARENT);
    expect(requests.find((e) => e.path === "/nowhere")).toMatchObject({ outcome: "no_route", status: 404, service: null, upstreamLatencyMs: null });
    // Distinct requests that started their own trace got distinct trace ids.
    expect(new Set(items.map((e) => e.traceId)).size).toBe(20);
    const transition = events.find((e) => e.event === "health_transition");
    expect(transition).toMatchObject({ service: SERVICE, from: "healthy", to: "unhealthy" });
  });

  it("logs:report reads the exported objects back", async () => {
    const report = await buildReport([dir], { progress: { threshold: Infinity } });
    expect(report.input.malformed).toBe(0);
    const svc = report.services.find((s) => s.service === SERVICE);
    expect(svc?.requests).toBeGreaterThanOrEqual(25);
    expect(svc?.coordinatorEvents.health_transition).toBeGreaterThanOrEqual(1);
    expect(svc?.latencyMs?.p50).toBeGreaterThanOrEqual(0);
    expect(report.services.find((s) => s.service === "(none)")?.requests).toBe(1);
  });

  /** Every object's records, in the Workers Trace Events layout; every mesh event in their Logs, schema-checked. */
  async function readEvents(keys: string[]): Promise<MeshEvent[]> {
    const out: MeshEvent[] = [];
    for (const key of keys) {
      const text = gunzipSync(await readFile(path.join(dir, ...key.split("/")))).toString("utf8");
      expect(text.endsWith("\n")).toBe(true);
      for (const line of text.split("\n").filter((l) => l !== "")) {
        const record = JSON.parse(line) as Record<string, unknown>;
        for (const field of ["EventTimestampMs", "EventType", "Exceptions", "Logs", "Outcome", "ScriptName", "Event", "CPUTimeMs", "WallTimeMs"]) {
          expect(record).toHaveProperty(field);
        }
        const logs = record.Logs as { Level: string; Message: unknown[] }[];
        for (const log of logs) {
          for (const message of log.Message) {
            if (typeof message !== "string" || !message.startsWith("{")) continue;
            const parsed = JSON.parse(message) as { event?: unknown };
            if (!(MESH_EVENT_KINDS as readonly unknown[]).includes(parsed.event)) continue;
            const checked = meshEventSchema.safeParse(parsed);
            if (!checked.success) throw new Error(`${key}: ${message}: ${JSON.stringify(checked.error.issues)}`);
            out.push(checked.data);
          }
        }
      }
    }
    return out;
  }
});
