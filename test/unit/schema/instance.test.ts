import { describe, expect, it } from "vitest";
import { canonicalOrigin } from "../../../src/core/net/origin-guard.js";
import {
  instanceIdSchema,
  instanceKeyMetadataBytes,
  KV_METADATA_LIMIT_BYTES,
  MAX_URL_BYTES,
  registerInstanceSchema,
} from "../../../src/core/schema/instance.js";

function pathsOf(input: unknown): string[] {
  const result = registerInstanceSchema.safeParse(input);
  if (result.success) throw new Error("expected the parse to fail");
  return result.error.issues.map((i) => i.path.join("."));
}

function entries(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
}

describe("registerInstanceSchema", () => {
  it("accepts a bare url and defaults weight to 1", () => {
    expect(registerInstanceSchema.parse({ url: "https://origin.example.com" })).toEqual({
      url: "https://origin.example.com",
      weight: 1,
    });
  });

  it("keeps optional fields when given", () => {
    const input = { url: "http://10.0.0.5:8080/base", weight: 7, zone: "eu-west", metadata: { version: "1.2.3" }, ttlSeconds: 60 };
    expect(registerInstanceSchema.parse(input)).toEqual(input);
  });

  it("requires url", () => {
    expect(pathsOf({})).toEqual(["url"]);
    expect(pathsOf({ weight: 2 })).toEqual(["url"]);
  });

  it.each([["ftp://files.example.com"], ["mailto:ops@example.com"], ["not a url"], ["/relative/path"], ["example.com"]])(
    "rejects non-http(s) or non-absolute url %j",
    (url) => {
      const paths = pathsOf({ url });
      expect(paths.length).toBeGreaterThan(0);
      expect(new Set(paths)).toEqual(new Set(["url"]));
    },
  );

  it("rejects a url longer than 2048 characters", () => {
    expect(pathsOf({ url: `https://example.com/${"a".repeat(2048)}` })).toContain("url");
  });

  // Issue 9 #3: a ~1,500-character url passed the schema, then failed the KV mirror write with a 500.
  describe("bounded by the KV key metadata it is stored in", () => {
    const base = "https://origin-1.example.com/";
    const longest = (fill: string, room: number) => `${base}${fill.repeat(Math.floor((room - base.length) / fill.length))}`;

    it("the largest url, weight and zone the schema accepts fit KV's 1,024-byte metadata limit", () => {
      const largest = registerInstanceSchema.parse({
        url: longest("a", MAX_URL_BYTES),
        weight: 1000,
        zone: "z".repeat(64),
      });
      expect(largest.url).toHaveLength(MAX_URL_BYTES);
      const stored = canonicalOrigin(new URL(largest.url));
      // The same object src/registry/kv-registry.ts puts as metadata, measured as KV measures it.
      const bytes = new TextEncoder().encode(JSON.stringify({ url: stored, weight: largest.weight, zone: largest.zone ?? null })).length;
      expect(bytes).toBe(instanceKeyMetadataBytes(stored, 1000, "z".repeat(64)));
      expect(bytes).toBeLessThanOrEqual(KV_METADATA_LIMIT_BYTES);
      // And the budget is not wasted: one more byte of url would not fit.
      expect(instanceKeyMetadataBytes(`${stored}a`, 1000, "z".repeat(64))).toBeGreaterThan(KV_METADATA_LIMIT_BYTES);
    });

    it("a zone of multi-byte characters counts in bytes, as KV does", () => {
      expect(registerInstanceSchema.safeParse({ url: base, zone: "é".repeat(32) }).success).toBe(true);
      expect(pathsOf({ url: base, zone: "é".repeat(33) })).toEqual(["zone"]);
      expect(pathsOf({ url: base, zone: "\u0001".repeat(11) })).toEqual(["zone"]);
    });

    it.each([
      ["1,500 characters (the reported case)", `${base}${"a".repeat(1500)}`],
      ["one character over the budget", `${base}${"a".repeat(MAX_URL_BYTES - base.length + 1)}`],
    ])("refuses a url of %s, naming url", (_what, url) => {
      expect(pathsOf({ url })).toEqual(["url"]);
    });

    it("measures the url as stored: percent-encoding can push a short url over the budget", () => {
      // 400 'é' are 400 characters but 2,400 once stored as %C3%A9.
      const url = `${base}${"é".repeat(400)}`;
      expect(url.length).toBeLessThan(MAX_URL_BYTES);
      expect(pathsOf({ url })).toEqual(["url"]);
    });
  });

  it("bounds weight to integers 1..1000", () => {
    for (const weight of [1, 500, 1000]) expect(registerInstanceSchema.safeParse({ url: "https://a.com", weight }).success).toBe(true);
    for (const weight of [0, -1, 1001, 1.5]) expect(pathsOf({ url: "https://a.com", weight })).toEqual(["weight"]);
  });

  it("limits metadata to 16 entries, 64-char keys and 256-char values", () => {
    expect(registerInstanceSchema.safeParse({ url: "https://a.com", metadata: entries(16) }).success).toBe(true);
    expect(pathsOf({ url: "https://a.com", metadata: entries(17) })).toEqual(["metadata"]);
    expect(registerInstanceSchema.safeParse({ url: "https://a.com", metadata: { ["k".repeat(64)]: "v".repeat(256) } }).success).toBe(
      true,
    );
    expect(pathsOf({ url: "https://a.com", metadata: { ["k".repeat(65)]: "v" } })[0]).toMatch(/^metadata/);
    expect(pathsOf({ url: "https://a.com", metadata: { k: "v".repeat(257) } })).toEqual(["metadata.k"]);
    expect(pathsOf({ url: "https://a.com", metadata: { k: 1 } })).toEqual(["metadata.k"]);
  });

  it.each(["__proto__", "constructor", "prototype"])("refuses the prototype key %s in metadata, at metadata", (key) => {
    // JSON.parse makes "__proto__" an own key, as a request body has it.
    const body: unknown = JSON.parse(`{"url":"https://a.com","metadata":{"${key}":{"polluted":"x"},"v":"1"}}`);
    expect(pathsOf(body)).toEqual(["metadata"]);
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("bounds ttlSeconds and zone", () => {
    expect(pathsOf({ url: "https://a.com", ttlSeconds: 4 })).toEqual(["ttlSeconds"]);
    expect(pathsOf({ url: "https://a.com", ttlSeconds: 86_401 })).toEqual(["ttlSeconds"]);
    expect(pathsOf({ url: "https://a.com", zone: "" })).toEqual(["zone"]);
    expect(pathsOf({ url: "https://a.com", zone: "z".repeat(65) })).toEqual(["zone"]);
  });

  it("rejects unknown keys", () => {
    const result = registerInstanceSchema.safeParse({ url: "https://a.com", healthy: true });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe("unrecognized_keys");
  });
});

describe("instanceIdSchema", () => {
  it("accepts exactly 16 lowercase hex digits", () => {
    expect(instanceIdSchema.safeParse("0123456789abcdef").success).toBe(true);
    for (const bad of ["0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", ""]) {
      expect(instanceIdSchema.safeParse(bad).success).toBe(false);
    }
  });
});
