import { describe, expect, it } from "vitest";
import { devVar } from "../../../scripts/lib/dev-vars.mjs";

describe(".dev.vars reading (scripts/lib/dev-vars.mjs)", () => {
  it("reads a value as wrangler dev (dotenv) does: quotes and inline comments are not part of it", () => {
    expect(devVar("MESH_ADMIN_TOKEN=plain\n", "MESH_ADMIN_TOKEN")).toBe("plain");
    expect(devVar('MESH_ADMIN_TOKEN="quoted token"\n', "MESH_ADMIN_TOKEN")).toBe("quoted token");
    expect(devVar("MESH_ADMIN_TOKEN='single'\r\n", "MESH_ADMIN_TOKEN")).toBe("single");
    expect(devVar("MESH_ADMIN_TOKEN=tok # the local one\n", "MESH_ADMIN_TOKEN")).toBe("tok");
    expect(devVar("# MESH_ADMIN_TOKEN=commented\nOTHER=1\n", "MESH_ADMIN_TOKEN")).toBeUndefined();
  });
});
