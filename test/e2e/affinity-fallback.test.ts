import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, startHarness, until, type Harness } from "./harness.js";

/**
 * Session affinity across a fallback hop, over real sockets: `pinned` (two
 * origins, affinity) names `pinned-dr` (two other origins, affinity with the
 * same cookie name) as its fallbackService. While `pinned` cannot answer, its
 * requests are answered by `pinned-dr`, pinned to one of its origins; the pin
 * the client holds for `pinned` must come through that untouched, so when
 * `pinned` answers again the client is back on its own origin without a new
 * session, and the next outage finds the fallback's pin untouched too.
 */

/** A cookie jar as a browser keeps one (RFC 6265): a cookie per name and Path, sent where its Path matches, longest Path first. */
class Jar {
  readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  header(path: string): string | null {
    const matching = [...this.cookies.values()].filter((c) => path === c.path || path.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`));
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length === 0 ? null : matching.map((c) => `${c.name}=${c.value}`).join("; ");
  }

  take(setCookie: string): void {
    const [pair = "", ...attributes] = setCookie.split(";").map((s) => s.trim());
    const eq = pair.indexOf("=");
    const path = attributes.find((a) => a.toLowerCase().startsWith("path="))?.slice(5) ?? "/";
    const name = pair.slice(0, eq);
    this.cookies.set(`${name}\n${path}`, { name, value: pair.slice(eq + 1), path });
  }
}

describe("end to end: session affinity across a fallback hop", () => {
  let h: Harness;
  const health = { intervalSeconds: 3600, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 100 };
  // Neither health checks nor passive ejection may take the stopped origins out for longer than the test's outages.
  const common = { affinity: { mode: "cookie", ttlSeconds: 600 }, healthCheck: health, outlier: { consecutiveFailures: 1000 }, lease: { ttlSeconds: 600 } };

  beforeAll(async () => {
    h = await startHarness(4);
    const [p1, p2, d1, d2] = h.origins;
    if (p1 === undefined || p2 === undefined || d1 === undefined || d2 === undefined) throw new Error("four origins needed");
    const dr = await api<{ registrationToken: string }>(h, "PUT", "/_mesh/v1/services/pinned-dr", { routes: { pathPrefixes: ["/pinned-dr"] }, ...common });
    expect(dr.status).toBe(201);
    for (const o of [d1, d2]) expect((await api(h, "POST", "/_mesh/v1/services/pinned-dr/instances", { url: o.url }, dr.body.registrationToken)).status).toBe(201);
    const primary = await api<{ registrationToken: string }>(h, "PUT", "/_mesh/v1/services/pinned", {
      routes: { pathPrefixes: ["/pinned"] },
      retry: { attempts: 2, perTryTimeoutMs: 1000 },
      fallbackService: "pinned-dr",
      ...common,
    });
    expect(primary.status).toBe(201);
    for (const o of [p1, p2]) expect((await api(h, "POST", "/_mesh/v1/services/pinned/instances", { url: o.url }, primary.body.registrationToken)).status).toBe(201);
  });

  afterAll(async () => {
    await h.close();
  });

  /** A GET with the jar's cookies: the origin that answered and the Set-Cookie it carried (taken into the jar). */
  async function get(jar: Jar, path: string): Promise<{ origin: string; setCookie: string | null }> {
    const cookie = jar.header(path);
    const res = await fetch(`${h.mesh.url}${path}`, { headers: cookie === null ? {} : { cookie } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`);
    const setCookie = res.headers.get("set-cookie");
    if (setCookie !== null) jar.take(setCookie);
    return { origin: (JSON.parse(text) as { origin: string }).origin, setCookie };
  }

  it("keeps the first service's pin through the fallback's answers, and the fallback's through the first service's", async () => {
    const [p1, p2, d1, d2] = h.origins;
    if (p1 === undefined || p2 === undefined || d1 === undefined || d2 === undefined) throw new Error("four origins needed");
    const primaries = [p1, p2];
    const jar = new Jar();
    const first = await get(jar, "/pinned/cart");
    expect(first.setCookie).toMatch(/^__mesh_affinity=[0-9a-f]{16}\.[^;]+; Max-Age=600; Path=\/pinned;/);
    const pinned = first.origin;

    /** Both primaries down: every request is answered by the fallback, on one of its origins, pinned after the first. */
    const outage = async (): Promise<{ origin: string; setCookies: (string | null)[] }> => {
      await Promise.all(primaries.map((o) => o.stop()));
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await get(jar, "/pinned/cart"));
      await Promise.all(primaries.map((o) => o.start()));
      const origins = new Set(answers.map((a) => a.origin));
      expect(origins.size).toBe(1);
      const [origin = ""] = origins;
      expect([d1.name, d2.name]).toContain(origin);
      return { origin, setCookies: answers.map((a) => a.setCookie) };
    };
    /** Until this router routes to the pinned origin again (its connect failures mark it down here for a few seconds). */
    const recovered = () =>
      until("the pinned origin back in this router's picks", 20_000, async () => {
        const res = await fetch(`${h.mesh.url}/pinned/probe`);
        const body = (await res.json()) as { origin?: string };
        return res.status === 200 && body.origin === pinned;
      });

    const one = await outage();
    // The fallback pins its own session, once, with a cookie of its own on the path the client used.
    expect(one.setCookies.slice(1)).toEqual([null, null, null]);
    expect(one.setCookies[0]).toMatch(/^__mesh_affinity\.pinned-dr=[0-9a-f]{16}\.[^;]+; Max-Age=600; Path=\/pinned;/);

    await recovered();
    const back = await get(jar, "/pinned/cart");
    // The first service's pin was not overwritten: the same origin, and no new session.
    expect(back).toEqual({ origin: pinned, setCookie: null });

    const two = await outage();
    // Nor was the fallback's by the first service's answer: the same fallback origin, still pinned.
    expect(two.origin).toBe(one.origin);
    expect(two.setCookies).toEqual([null, null, null, null]);
    await recovered();
    expect(await get(jar, "/pinned/cart")).toEqual({ origin: pinned, setCookie: null });
  });

  it("leaves the fallback's own pin on its own path alone", async () => {
    const jar = new Jar();
    const direct = await get(jar, "/pinned-dr/cart");
    expect(direct.setCookie).toMatch(/^__mesh_affinity=[0-9a-f]{16}\.[^;]+; Max-Age=600; Path=\/pinned-dr;/);
    for (let i = 0; i < 5; i++) expect(await get(jar, "/pinned-dr/cart")).toEqual({ origin: direct.origin, setCookie: null });
  });
});
