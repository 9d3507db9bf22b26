import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import type { Snapshot } from "../../../src/core/snapshot.js";
import { CLAIM_MS } from "../../../src/core/location-share/refresh-claim.js";
import { SNAPSHOT_TTL_MS } from "../../../src/edge/cache/snapshot-cache.js";
import { createService, originUrls, register, serviceWith, stubFor, uniqueName } from "../helpers.js";

/**
 * Isolates of one location share each service's snapshot through the Cache
 * API (src/edge/cache/location-copy.ts). In this pool every request runs in one
 * isolate, so "another isolate's" copy is written here straight into the
 * cache, in the layout the mesh writes.
 */

afterEach(() => {
  vi.useRealTimers();
});

const copyKey = (service: string) => `https://snapshots.switchyard.invalid/${service}`;

async function get(url: string, overrides: Partial<Env> = {}): Promise<string | null> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url), { ...env, ...overrides }, ctx);
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res.headers.get("x-mesh-instance");
}

async function putCopy(snapshot: Snapshot, fetchedAt: number): Promise<void> {
  await caches.default.put(
    copyKey(snapshot.service),
    new Response(JSON.stringify({ snapshot, fetchedAt }), { headers: { "cache-control": "max-age=5" } }),
  );
}

const claimKey = (service: string) => `https://snapshots.switchyard.invalid/claim/${service}`;

async function putClaim(service: string, claim: { id: string; at: number }): Promise<void> {
  await caches.default.put(claimKey(service), new Response(JSON.stringify(claim), { headers: { "cache-control": "max-age=5" } }));
}

async function copyFetchedAt(service: string): Promise<number> {
  const copy = await (await caches.default.match(copyKey(service)))?.json<{ fetchedAt: number }>();
  if (copy === undefined) throw new Error("no copy after the first request");
  return copy.fetchedAt;
}

/**
 * Past the TTL of the snapshot fetched at `fetchedAt`, short of the stale
 * bound, where a request waits for the refresh and so skips the claim.
 */
function dueNotStale(fetchedAt: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(fetchedAt + SNAPSHOT_TTL_MS + 300);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const snapshotRpcs = async (service: string) => (await stubFor(service).describe()).routerRpcs.snapshots;

describe("snapshots shared per location (Cache API)", () => {
  it("leaves a copy when it asks the coordinator", async () => {
    const { name, ids } = await serviceWith(2);
    await get(`http://mesh.test/${name}/a`);
    const res = await caches.default.match(copyKey(name));
    const copy = await res?.json<{ snapshot: Snapshot; fetchedAt: number }>();
    expect(copy?.snapshot.instances.map((i) => i.id).sort()).toEqual([...ids].sort());
  });

  it("a due refresh adopts another isolate's fresh copy instead of calling the coordinator", async () => {
    const { name, ids } = await serviceWith(2);
    const [keep = ""] = ids;
    await get(`http://mesh.test/${name}/warm`);
    const held = await (await caches.default.match(copyKey(name)))?.json<{ snapshot: Snapshot }>();
    if (held === undefined) throw new Error("no copy after the first request");
    const rpcs = await snapshotRpcs(name);

    // Past the TTL for this isolate; another isolate refreshed 100 ms ago and saw only `keep`.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + SNAPSHOT_TTL_MS + 500);
    const other: Snapshot = { ...held.snapshot, version: held.snapshot.version + 1, instances: held.snapshot.instances.filter((i) => i.id === keep) };
    await putCopy(other, Date.now() - 100);
    await get(`http://mesh.test/${name}/due`);
    const seen = new Set<string | null>();
    for (let i = 0; i < 6; i++) seen.add(await get(`http://mesh.test/${name}/after`));
    expect([...seen]).toEqual([keep]);
    expect(await snapshotRpcs(name)).toBe(rpcs);
  }, 20_000);

  it("ignores a copy older than the TTL, or older than the version it holds, and asks the coordinator", async () => {
    const { name } = await serviceWith(2);
    await get(`http://mesh.test/${name}/warm`);
    const held = await (await caches.default.match(copyKey(name)))?.json<{ snapshot: Snapshot }>();
    if (held === undefined) throw new Error("no copy after the first request");
    vi.useFakeTimers({ toFake: ["Date"] });

    vi.setSystemTime(Date.now() + SNAPSHOT_TTL_MS + 500);
    await putCopy(held.snapshot, Date.now() - SNAPSHOT_TTL_MS - 1);
    let rpcs = await snapshotRpcs(name);
    await get(`http://mesh.test/${name}/stale-copy`);
    expect(await snapshotRpcs(name)).toBe(rpcs + 1);

    vi.setSystemTime(Date.now() + SNAPSHOT_TTL_MS + 500);
    await putCopy({ ...held.snapshot, version: held.snapshot.version - 1 }, Date.now() - 10);
    rpcs = await snapshotRpcs(name);
    await get(`http://mesh.test/${name}/old-version`);
    expect(await snapshotRpcs(name)).toBe(rpcs + 1);
  }, 20_000);

  it("a due refresh that finds another isolate's live claim waits for that isolate's copy instead of asking the coordinator", async () => {
    const { name, ids } = await serviceWith(2);
    const [keep = ""] = ids;
    await get(`http://mesh.test/${name}/warm`);
    const held = await (await caches.default.match(copyKey(name)))?.json<{ snapshot: Snapshot; fetchedAt: number }>();
    if (held === undefined) throw new Error("no copy after the first request");
    const rpcs = await snapshotRpcs(name);

    dueNotStale(held.fetchedAt);
    // Another isolate fell due first and is asking the coordinator; its answer lands 80 ms later.
    await putClaim(name, { id: "other-isolate", at: Date.now() });
    const due = get(`http://mesh.test/${name}/due`);
    // The other isolate's round trip: its answer lands after this isolate has begun to follow its claim.
    await sleep(80);
    const other: Snapshot = { ...held.snapshot, version: held.snapshot.version + 1, instances: held.snapshot.instances.filter((i) => i.id === keep) };
    await putCopy(other, Date.now());
    await due;

    expect(await snapshotRpcs(name)).toBe(rpcs);
    const seen = new Set<string | null>();
    for (let i = 0; i < 6; i++) seen.add(await get(`http://mesh.test/${name}/after`));
    expect([...seen]).toEqual([keep]);
    expect(await snapshotRpcs(name)).toBe(rpcs);
  }, 20_000);

  it("a claim that lapses with no copy: the isolate claims in its place and asks the coordinator", async () => {
    const { name } = await serviceWith(2);
    await get(`http://mesh.test/${name}/warm`);
    const rpcs = await snapshotRpcs(name);
    dueNotStale(await copyFetchedAt(name));
    await putClaim(name, { id: "lost-isolate", at: Date.now() - CLAIM_MS + 60 });
    await get(`http://mesh.test/${name}/due`);
    expect(await snapshotRpcs(name)).toBe(rpcs + 1);
  }, 20_000);

  it("a due refresh that asks leaves its claim, so isolates falling due after it wait for its copy", async () => {
    const { name } = await serviceWith(2);
    await get(`http://mesh.test/${name}/warm`);
    dueNotStale(await copyFetchedAt(name));
    const rpcs = await snapshotRpcs(name);
    await get(`http://mesh.test/${name}/due`);
    expect(await snapshotRpcs(name)).toBe(rpcs + 1);
    const claim = await (await caches.default.match(claimKey(name)))?.json<{ id: string; at: number }>();
    expect(claim?.at).toBe(Date.now());
    expect(claim?.id).toMatch(/^[0-9a-f-]{36}$/);
  }, 20_000);

  it("after an idle spell, the refresh the request waits on claims and asks at once", async () => {
    const { name } = await serviceWith(2);
    await get(`http://mesh.test/${name}/warm`);
    const rpcs = await snapshotRpcs(name);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime((await copyFetchedAt(name)) + 3 * SNAPSHOT_TTL_MS);
    await get(`http://mesh.test/${name}/after-idle`);
    expect(await snapshotRpcs(name)).toBe(rpcs + 1);
    // Its claim is there for isolates falling due after it: they follow it instead of asking too.
    const claim = await (await caches.default.match(claimKey(name)))?.json<{ id: string; at: number }>();
    expect(claim?.at).toBe(Date.now());
  }, 20_000);

  it("with SNAPSHOT_SHARING=off, reads and leaves no copy", async () => {
    const { name } = await serviceWith(2);
    await get(`http://mesh.test/${name}/a`, { SNAPSHOT_SHARING: "off" });
    expect(await caches.default.match(copyKey(name))).toBeUndefined();
  });

  it("a registration through the API drops the location's copy, and the next request routes to the new instance", async () => {
    const name = uniqueName("lc");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const [a = "", b = ""] = originUrls();
    await register(name, token, a);
    await get(`http://mesh.test/${name}/a`);
    expect(await caches.default.match(copyKey(name))).toBeDefined();
    const added = (await register(name, token, b)).id;
    expect(await caches.default.match(copyKey(name))).toBeUndefined();
    const seen = new Set<string | null>();
    for (let i = 0; i < 4; i++) seen.add(await get(`http://mesh.test/${name}/b`));
    expect(seen.has(added)).toBe(true);
    // Each request waits for its waitUntil work, the outcome report's flush timer (up to 1 s) included.
  }, 20_000);
});
