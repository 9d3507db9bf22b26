import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { control, createService, mesh, originUrls, register, resetOrigins, stubFor, uniqueName, type Echo } from "../helpers.js";

/** Moves the clock the Durable Object sees (it runs in the test isolate). */
function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A service whose health round is held by one hung probe: origin A answers its
 * probe path only after `delayMs` (its /healthz is not the probe path), origin
 * B answers at once and holds a lease of `leaseSeconds`. The interval is 30 s
 * so the runtime's own (real-time) alarm never fires during a test.
 */
async function heldRound(leaseSeconds: number, delayMs: number) {
  const name = uniqueName("lapse");
  const { token } = await createService(name, {
    routes: { pathPrefixes: [`/${name}`] },
    healthCheck: { intervalSeconds: 30, path: "/slow-check", timeoutMs: 5_000 },
    lease: { ttlSeconds: 86_400 },
  });
  const [a = "", b = ""] = originUrls();
  const held = await register(name, token, a);
  const lapsing = await register(name, token, b, { ttlSeconds: leaseSeconds });
  await control(a, { delayMs });
  vi.useFakeTimers({ toFake: ["Date"] });
  return { name, a, b, heldId: held.id, lapsingId: lapsing.id, stub: stubFor(name) };
}

/** Starts the alarm's round and reports whether it has ended. */
function startRound(stub: DurableObjectStub) {
  let ended = false;
  const done = runDurableObjectAlarm(stub).finally(() => {
    ended = true;
  });
  return { done, ended: () => ended };
}

afterEach(async () => {
  vi.useRealTimers();
  await resetOrigins();
});

describe("a lease that lapses while a health round is held", () => {
  it("drops the member from the next snapshot, strict picks and routed requests, before the round ends", async () => {
    const s = await heldRound(40, 2_500);
    advance(31_000); // the round is due; B's lease (40 s) still runs
    const round = startRound(s.stub);
    await sleep(300); // B's probe answered; A's holds the round
    advance(10_000); // B's lease lapsed mid-round: its heartbeat would now get 404
    expect(round.ended()).toBe(false);

    const snap = await s.stub.snapshot();
    expect(snap?.instances.map((i) => i.id)).toEqual([s.heldId]);
    const picks = await s.stub.pickBatch([[], [], []]);
    expect(picks.ok && picks.instances.map((i) => i?.id)).toEqual([s.heldId, s.heldId, s.heldId]);
    const grant = await s.stub.leaseSlots(4);
    expect(grant.ok && grant.instances.map((i) => i.id)).toEqual([s.heldId]);
    expect((await s.stub.describe()).instances.find((i) => i.id === s.lapsingId)?.state).toBe("expired");
    // ...and the scrape's switchyard_instance_healthy says 0 for it.
    expect((await s.stub.metrics())?.instances.find((i) => i.id === s.lapsingId)?.healthy).toBe(false);

    // Routed requests (round robin over what the snapshot holds) all go to A, none to B.
    const answers = await Promise.all([1, 2, 3].map(() => mesh(`/${s.name}/x`)));
    const origins = await Promise.all(answers.map(async (r) => (await r.json<Echo>()).origin));
    expect(answers.map((r) => r.headers.get("x-mesh-instance"))).toEqual([s.heldId, s.heldId, s.heldId]);
    expect(new Set(origins).size).toBe(1);

    await round.done;
    // The reaping itself still happens at the round's end.
    expect(await env.REGISTRY.get(`instance:${s.name}:${s.lapsingId}`)).toBeNull();
  });

  it("a lease that lapsed before a round starts is reaped (KV mirror too) before the round's probes, and not probed", async () => {
    const s = await heldRound(40, 2_500);
    advance(41_000); // round due and B's lease lapsed: one alarm for both
    const round = startRound(s.stub);
    await sleep(500);
    expect(round.ended()).toBe(false);
    // The fallback mirror no longer names B while A's probe still holds the round.
    expect(await env.REGISTRY.get(`instance:${s.name}:${s.lapsingId}`)).toBeNull();
    await round.done;
    const b = (await s.stub.describe()).instances.find((i) => i.id === s.lapsingId);
    expect(b?.state).toBe("expired");
    expect(b?.lastCheckAt).toBeNull();
  });

  it("the cron sweep, arriving between the round's probes, unmirrors a lease that lapsed mid-round", async () => {
    const s = await heldRound(40, 2_500);
    advance(31_000);
    const round = startRound(s.stub);
    await sleep(300);
    advance(10_000);
    expect((await s.stub.sweep()).expired).toBe(1);
    expect(round.ended()).toBe(false);
    expect(await env.REGISTRY.get(`instance:${s.name}:${s.lapsingId}`)).toBeNull();
    await round.done;
  });
});

describe("a lapsed lease and passive ejection", () => {
  it("a member whose lease lapsed does not count as the routable one that keeps the last instance from ejection", async () => {
    const name = uniqueName("lapse-eject");
    // Health every hour and A's lease a day, so neither the runtime's (real-time) alarm nor a round runs meanwhile.
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 3600 },
      lease: { ttlSeconds: 86_400 },
      outlier: { consecutiveFailures: 3, baseEjectionSeconds: 10, maxEjectionSeconds: 60 },
    });
    const [a = "", b = ""] = originUrls();
    const kept = await register(name, token, a);
    const lapsing = await register(name, token, b, { ttlSeconds: 60 });
    const stub = stubFor(name);
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(61_000); // B's lease lapsed: out of the snapshot, not yet reaped by the alarm
    expect((await stub.snapshot())?.instances.map((i) => i.id)).toEqual([kept.id]);

    const failures = { instanceId: kept.id, requests: 3, failures: 3, trailingFailures: 3, latencyMsTotal: 3, lastFailure: "status" as const };
    await stub.report([failures]);
    // A is the last instance routers have: it stays, as it would if B had been reaped already.
    const snap = await stub.snapshot();
    expect(snap?.instances.map((i) => i.id)).toEqual([kept.id]);
    expect(snap?.allUnhealthy).toBe(false);
    const view = await stub.describe();
    expect(view.instances.find((i) => i.id === kept.id)?.ejectedUntil).toBeNull();
    expect(view.instances.find((i) => i.id === lapsing.id)?.state).toBe("expired");
  });
});
