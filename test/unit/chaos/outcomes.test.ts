import { describe, expect, it } from "vitest";
import { classifyExchange, duplicateBodies, formatStatuses, summarise, type Exchange } from "../../../scripts/chaos/model/outcomes.mjs";

const ok: Exchange = { status: 200, error: null, phase: null, receivedBytes: 100, declaredBytes: 100, declaredSha: "aa", receivedSha: "aa" };

describe("classifyExchange", () => {
  it("accepts a whole body that matches what the origin declared", () => {
    expect(classifyExchange(ok)).toBe("ok");
    expect(classifyExchange({ ...ok, declaredBytes: null, declaredSha: null })).toBe("ok");
  });

  it("calls a clean end short of the declared length a silent truncation", () => {
    expect(classifyExchange({ ...ok, receivedBytes: 8192, declaredBytes: 65536 })).toBe("silent-truncation");
  });

  it("calls a body that failed while streaming visible, not silent", () => {
    expect(classifyExchange({ ...ok, receivedBytes: 8192, declaredBytes: 65536, error: "TypeError: terminated", phase: "body" })).toBe("failed-in-body");
  });

  it("calls a full-length body with another digest corrupt", () => {
    expect(classifyExchange({ ...ok, receivedSha: "bb" })).toBe("corrupt-body");
    expect(classifyExchange({ ...ok, receivedBytes: 101 })).toBe("corrupt-body");
  });

  it("separates no answer from an error status", () => {
    expect(classifyExchange({ ...ok, status: null, error: "fetch failed", phase: "headers" })).toBe("failed-before-headers");
    expect(classifyExchange({ ...ok, status: 502, declaredBytes: null, declaredSha: null })).toBe("error-status");
  });
});

describe("summarise", () => {
  it("counts every exchange that was not ok as a client error and tallies statuses", () => {
    const s = summarise([ok, ok, { ...ok, status: 503, declaredBytes: null, declaredSha: null }, { ...ok, status: null, error: "x", phase: "headers" }]);
    expect(s.total).toBe(4);
    expect(s.clientErrors).toBe(2);
    expect(s.outcomes.ok).toBe(2);
    expect(formatStatuses(s.statuses)).toBe("200×2, 503×1, no answer×1");
  });
});

describe("duplicateBodies", () => {
  it("counts bodies of this case that arrived more than once, ignoring other traffic", () => {
    const mine = new Set(["a", "b", "c"]);
    expect(duplicateBodies(["a", "b", "c"], mine)).toBe(0);
    expect(duplicateBodies(["a", "a", "b", "c", "c", "c", "z", "z"], mine)).toBe(2);
  });
});
