import { describe, expect, it } from "vitest";
import { instanceIdSchema, registerInstanceSchema } from "../../../src/core/schema/instance.js";

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
