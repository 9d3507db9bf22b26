import { describe, expect, it } from "vitest";
import { isControlPlanePath } from "../../../src/core/routes/control-plane-path.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";

describe("isControlPlanePath", () => {
  it("is /_mesh itself and below it, on a segment boundary", () => {
    for (const p of ["/_mesh", "/_mesh/", "/_mesh/v1/services", "/_mesh/ui"]) expect(isControlPlanePath(p), p).toBe(true);
    for (const p of ["/", "/_meshx", "/_mes", "/x/_mesh", "/_MESH", "/mesh"]) expect(isControlPlanePath(p), p).toBe(false);
  });

  it("reads the path with its escapes normalized, as the route stage does", () => {
    for (const p of ["/%5Fmesh", "/%5fmesh/v1", "/_%6Desh/ui"]) expect(isControlPlanePath(p), p).toBe(true);
    // %2F is data, not a segment boundary.
    expect(isControlPlanePath("/_mesh%2Fv1")).toBe(false);
  });

  it("is what the schema reserves: a route prefix the control plane would take is refused", () => {
    for (const prefix of ["/_mesh", "/%5Fmesh", "/x/../_mesh/v1"]) {
      const parsed = serviceConfigSchema.safeParse({ routes: { pathPrefixes: [prefix] } });
      expect(parsed.success, prefix).toBe(false);
    }
    expect(serviceConfigSchema.safeParse({ routes: { pathPrefixes: ["/_meshx"] } }).success).toBe(true);
  });
});
