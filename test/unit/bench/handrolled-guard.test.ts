import { describe, expect, it } from "vitest";
import { GUARD_BODY_IDLE_MS } from "../../../scripts/bench/scenarios/steady.mjs";
import { DEFAULT_BODY_IDLE_TIMEOUT_MS } from "../../../src/core/schema/service.js";

describe("the bench's guarded hand-rolled row", () => {
  it("guards bodies with the mesh's default body idle limit, so the two rows pay for the same guard", () => {
    expect(GUARD_BODY_IDLE_MS).toBe(DEFAULT_BODY_IDLE_TIMEOUT_MS);
  });
});
