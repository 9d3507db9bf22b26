import { describe, expect, it } from "vitest";
import { bufferedBodyLength, declaredBodyLength, MAX_BUFFERED_BODY_BYTES, readsAhead, relayedBodyLength } from "../../../src/core/proxy/body-length.js";

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

describe("bufferedBodyLength", () => {
  it("reads a small sized, unencoded body whole", () => {
    expect(bufferedBodyLength("GET", 200, null, "238")).toBe(238);
    expect(bufferedBodyLength("POST", 404, "identity", String(MAX_BUFFERED_BODY_BYTES))).toBe(MAX_BUFFERED_BODY_BYTES);
  });

  it("streams what has no body, no size, an encoding, or more than the cap", () => {
    expect(bufferedBodyLength("HEAD", 200, null, "238")).toBeNull();
    expect(bufferedBodyLength("GET", 204, null, "238")).toBeNull();
    expect(bufferedBodyLength("GET", 304, null, "238")).toBeNull();
    expect(bufferedBodyLength("GET", 200, null, "0")).toBeNull();
    expect(bufferedBodyLength("GET", 200, null, null)).toBeNull();
    expect(bufferedBodyLength("GET", 200, "gzip", "238")).toBeNull();
    expect(bufferedBodyLength("GET", 200, null, String(MAX_BUFFERED_BODY_BYTES + 1))).toBeNull();
  });
});

describe("readsAhead", () => {
  const unsized = (extra: Record<string, string> = {}): Headers => new Headers({ "content-type": "application/json", ...extra });

  it("reads an unsized answer ahead, encoded or not, whatever its method or status", () => {
    expect(readsAhead("GET", 200, unsized())).toBe(true);
    expect(readsAhead("POST", 404, unsized({ "content-encoding": "gzip" }))).toBe(true);
    // fetch decodes it, so its Content-Length does not count what is relayed: unsized for the client.
    expect(readsAhead("GET", 200, unsized({ "content-length": "12", "content-encoding": "gzip" }))).toBe(true);
    // A Content-Length that is not a plain decimal leaves the length unknown: unsized.
    expect(readsAhead("GET", 200, unsized({ "content-length": "5, 5" }))).toBe(true);
    expect(readsAhead("GET", 200, new Headers())).toBe(true);
  });

  it("leaves out what has no body, a declared length, an event stream, or X-Accel-Buffering: no", () => {
    expect(readsAhead("HEAD", 200, unsized())).toBe(false);
    expect(readsAhead("GET", 204, unsized())).toBe(false);
    expect(readsAhead("GET", 304, unsized())).toBe(false);
    expect(readsAhead("GET", 200, unsized({ "content-length": "70000" }))).toBe(false);
    expect(readsAhead("GET", 200, unsized({ "content-length": "12", "content-encoding": "identity" }))).toBe(false);
    expect(readsAhead("GET", 200, new Headers({ "content-type": "text/event-stream; charset=utf-8" }))).toBe(false);
    expect(readsAhead("GET", 200, new Headers({ "content-type": " Text/Event-Stream" }))).toBe(false);
    expect(readsAhead("GET", 200, unsized({ "x-accel-buffering": "No" }))).toBe(false);
    expect(readsAhead("GET", 200, unsized({ "x-accel-buffering": "yes" }))).toBe(true);
  });
});
