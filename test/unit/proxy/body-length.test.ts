import { describe, expect, it } from "vitest";
import { declaredBodyLength, relayedBodyLength } from "../../../src/core/proxy/body-length.js";

describe("declaredBodyLength", () => {
  it("reads a plain decimal Content-Length", () => {
    expect(declaredBodyLength("0")).toBe(0);
    expect(declaredBodyLength("2000000")).toBe(2_000_000);
  });

  it("treats a missing, signed, listed or absurd value as unsized", () => {
    for (const value of [null, "", "-1", "+5", "5, 5", "1e3", " 5", "9999999999999999"]) expect(declaredBodyLength(value)).toBeNull();
  });
});

describe("relayedBodyLength", () => {
  it("keeps the origin's length for an unencoded body", () => {
    expect(relayedBodyLength(new Headers({ "content-length": "42" }))).toBe(42);
    expect(relayedBodyLength(new Headers({ "content-length": "42", "content-encoding": "identity" }))).toBe(42);
  });

  it("drops it for an encoded body, which fetch decodes to another length", () => {
    expect(relayedBodyLength(new Headers({ "content-length": "42", "content-encoding": "gzip" }))).toBeNull();
  });
});
