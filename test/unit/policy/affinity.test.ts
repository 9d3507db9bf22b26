import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { affinityKey, claimedId, pinCookie, readPin, signPin, verifyPin } from "../../../src/core/policy/affinity.js";
import type { AffinityConfig } from "../../../src/core/schema/traffic-policy.js";

const COOKIE: AffinityConfig = { mode: "cookie", name: "__mesh_affinity", ttlSeconds: 600 };
const HEADER: AffinityConfig = { mode: "header", name: "x-mesh-affinity", ttlSeconds: 600 };
const ID = "0123456789abcdef";

describe("affinity values", () => {
  it("round-trips: a signed value verifies to its instance id", async () => {
    const key = await affinityKey("admin-token");
    const value = await signPin(key, "shop", ID);
    expect(value).toMatch(/^0123456789abcdef\.[A-Za-z0-9_-]{22}$/);
    expect(claimedId(value)).toBe(ID);
    expect(await verifyPin(key, "shop", value)).toBe(ID);
    // Deterministic: every isolate of the deployment issues and accepts the same value.
    expect(await signPin(await affinityKey("admin-token"), "shop", ID)).toBe(value);
  });

  it("refuses forgeries: another id with the same MAC, another service, another deployment's key, a bare id, junk", async () => {
    const key = await affinityKey("admin-token");
    const value = await signPin(key, "shop", ID);
    const mac = value.slice(17);
    expect(await verifyPin(key, "shop", `fedcba9876543210.${mac}`)).toBeNull();
    expect(await verifyPin(key, "cart", value)).toBeNull();
    expect(await verifyPin(await affinityKey("other-token"), "shop", value)).toBeNull();
    expect(await verifyPin(key, "shop", ID)).toBeNull();
    expect(await verifyPin(key, "shop", "http://evil.example/")).toBeNull();
    expect(await verifyPin(key, "shop", `${value}x`)).toBeNull();
  });

  it("refuses every one-character change of a genuine value (fast-check)", async () => {
    const key = await affinityKey("admin-token");
    const value = await signPin(key, "shop", ID);
    const alphabet = "0123456789abcdefABCDEF_-.xyz";
    await fc.assert(
      fc.asyncProperty(fc.nat(value.length - 1), fc.nat(alphabet.length - 1), async (at, pick) => {
        const ch = alphabet[pick] ?? "x";
        fc.pre(value[at] !== ch);
        const forged = value.slice(0, at) + ch + value.slice(at + 1);
        expect(await verifyPin(key, "shop", forged)).toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it("reads the value from the named cookie or header; an empty one is none", () => {
    const cookies = { get: (n: string) => (n === "cookie" ? "a=1; __mesh_affinity=v.x; b=2" : null) };
    expect(readPin(COOKIE, cookies)).toBe("v.x");
    expect(readPin(HEADER, cookies)).toBeNull();
    expect(readPin(HEADER, { get: (n: string) => (n === "x-mesh-affinity" ? "v.y" : null) })).toBe("v.y");
    expect(readPin(HEADER, { get: () => "" })).toBeNull();
  });

  it("sets the cookie HttpOnly, SameSite=Lax, Path=/, Max-Age=ttlSeconds, and Secure only over https", () => {
    expect(pinCookie(COOKIE, "v", false)).toBe("__mesh_affinity=v; Max-Age=600; Path=/; HttpOnly; SameSite=Lax");
    expect(pinCookie(COOKIE, "v", true)).toBe("__mesh_affinity=v; Max-Age=600; Path=/; HttpOnly; SameSite=Lax; Secure");
  });

  it("scopes the cookie to the route prefix that matched, and falls back to / for one the attribute cannot carry", () => {
    expect(pinCookie(COOKIE, "v", false, "/cart")).toBe("__mesh_affinity=v; Max-Age=600; Path=/cart; HttpOnly; SameSite=Lax");
    expect(pinCookie(COOKIE, "v", false, "/")).toContain("; Path=/; ");
    // A ';' would start an attribute of its own (Domain=…): never written into the header.
    expect(pinCookie(COOKIE, "v", false, "/a;Domain=evil.example")).toContain("; Path=/; ");
    expect(pinCookie(COOKIE, "v", false, "/caf\u00e9")).toContain("; Path=/; ");
    expect(pinCookie(COOKIE, "v", false, "/a\u0001")).toContain("; Path=/; ");
  });
});
