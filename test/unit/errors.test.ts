import { describe, expect, it } from "vitest";
import { MeshError, isMeshError, type ErrorBody } from "../../src/core/errors.js";

describe("MeshError", () => {
  it("is an Error carrying status, code and message", () => {
    const err = new MeshError(404, "not_found", "service 'x' does not exist");
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("MeshError");
    expect(err.status).toBe(404);
    expect(err.code).toBe("not_found");
    expect(err.message).toBe("service 'x' does not exist");
    expect(err.headers).toEqual({});
  });

  it("toBody gives { error, message } and leaves issues out when there are none", () => {
    const body = new MeshError(401, "unauthorized", "bad token").toBody();
    expect(body).toEqual({ error: "unauthorized", message: "bad token" });
    expect("issues" in body).toBe(false);
  });

  it("toBody includes field issues when given", () => {
    const issues = [{ path: "routes.hosts", message: "at least one of hosts or pathPrefixes is required" }];
    expect(new MeshError(400, "invalid_request", "invalid service", { issues }).toBody()).toEqual({
      error: "invalid_request",
      message: "invalid service",
      issues,
    });
  });

  it("toResponse builds a JSON response with the status, body and extra headers", async () => {
    const res = new MeshError(503, "no_healthy_instance", "service 'x': every instance is unhealthy", {
      headers: { "retry-after": "5" },
    }).toResponse();
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("retry-after")).toBe("5");
    const body: unknown = await res.json();
    const expected: ErrorBody = { error: "no_healthy_instance", message: "service 'x': every instance is unhealthy" };
    expect(body).toEqual(expected);
  });

  it("puts no stack trace on the wire", async () => {
    const text = await new MeshError(500, "internal_error", "internal error").toResponse().text();
    expect(text).not.toMatch(/\bat .*\(|stack/);
  });
});

describe("isMeshError", () => {
  it("recognises only MeshError values", () => {
    expect(isMeshError(new MeshError(409, "conflict", "taken"))).toBe(true);
    expect(isMeshError(new Error("plain"))).toBe(false);
    expect(isMeshError({ status: 400, code: "invalid_request", message: "lookalike" })).toBe(false);
    expect(isMeshError(null)).toBe(false);
    expect(isMeshError("not_found")).toBe(false);
  });
});
