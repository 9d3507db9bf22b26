import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createService, startHarness, type Harness } from "./harness.js";

/**
 * Session affinity over real sockets: a client that keeps its cookie, as a
 * browser does, stays on one origin for 100 requests, and when that origin is
 * killed it is failed over and re-pinned with no client-visible error.
 */
describe("end to end: session affinity", () => {
  let h: Harness;
  const SERVICE = "sessions";

  beforeAll(async () => {
    h = await startHarness(3);
    await createService(h, SERVICE, {
      routes: { pathPrefixes: [`/${SERVICE}`] },
      affinity: { mode: "cookie", ttlSeconds: 600 },
      healthCheck: { intervalSeconds: 1, timeoutMs: 500 },
      retry: { attempts: 3, perTryTimeoutMs: 1000 },
      // Nothing here heartbeats: the lease must outlast the test on a loaded machine.
      lease: { ttlSeconds: 600 },
    });
  });

  afterAll(async () => {
    await h.close();
  });

  /** A client with a cookie jar of one cookie: it sends what it last got and takes every new Set-Cookie. */
  class Client {
    cookie: string | null = null;
    repins = 0;
    readonly errors: string[] = [];

    async get(path: string): Promise<string | null> {
      try {
        const res = await fetch(`${h.mesh.url}${path}`, { headers: this.cookie === null ? {} : { cookie: this.cookie } });
        const text = await res.text();
        const set = res.headers.get("set-cookie");
        if (set !== null) {
          const pair = set.split(";")[0] ?? "";
          if (this.cookie !== null && pair !== this.cookie) this.repins++;
          this.cookie = pair;
        }
        if (res.status !== 200) {
          this.errors.push(`${res.status} ${text.slice(0, 200)}`);
          return null;
        }
        return (JSON.parse(text) as { origin: string }).origin;
      } catch (err) {
        this.errors.push(String(err));
        return null;
      }
    }
  }

  it("holds a session on one origin for 100 requests, then re-pins with 0 client errors after that origin is killed", async () => {
    const client = new Client();
    const first = await client.get(`/${SERVICE}/cart`);
    expect(client.cookie).toMatch(/^__mesh_affinity=[0-9a-f]{16}\./);
    const pinned = new Set<string>();
    for (let i = 0; i < 100; i++) pinned.add((await client.get(`/${SERVICE}/cart`)) ?? "error");
    expect(client.errors).toEqual([]);
    expect([...pinned]).toEqual([first]);
    expect(client.repins).toBe(0);

    const victim = h.origins.find((o) => o.name === first);
    if (victim === undefined) throw new Error(`no origin named ${String(first)}`);
    await victim.stop();
    const after: string[] = [];
    for (let i = 0; i < 100; i++) after.push((await client.get(`/${SERVICE}/cart`)) ?? "error");
    expect(client.errors).toEqual([]);
    expect(after).not.toContain(victim.name);
    // Re-pinned once, and the new pin holds: one origin for everything after the kill.
    expect(client.repins).toBe(1);
    expect(new Set(after).size).toBe(1);
  });

  it("gives different sessions different origins", async () => {
    const origins = new Set<string>();
    for (let i = 0; i < 12; i++) origins.add((await new Client().get(`/${SERVICE}/new`)) ?? "error");
    expect(origins.has("error")).toBe(false);
    expect(origins.size).toBeGreaterThan(1);
  });
});
