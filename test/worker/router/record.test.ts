import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { record } from "../../../src/edge/report/record.js";
import { newRequestState } from "../../../src/edge/request-state.js";

/**
 * The record stage's request line (src/edge/report/record.ts): written in the
 * handler. A write that throws must not escape the record stage (the request
 * has its answer; a throw there would become a 500 mesh_error) and must end
 * as one logged error.
 */
describe("record: the request line", () => {
  it("logs one error, and throws nothing, when writing the line throws", async () => {
    const errors: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation(() => {
      throw new Error("log sink broke");
    });
    const error = vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    try {
      const ctx = createExecutionContext();
      const state = newRequestState(new Request("http://mesh.test/nothing-here"), Date.now());
      state.status = 404;
      state.outcome = "no_route";
      expect(() => record(state, new URL("http://mesh.test/nothing-here"), { ...env, REQUEST_LOG: "json", METRICS: "off" }, ctx)).not.toThrow();
      // Written before record returns: nothing is left for waitUntil.
      expect(log).toHaveBeenCalledTimes(1);
      expect(errors).toHaveLength(1);
      await waitOnExecutionContext(ctx);
      // Caught and said once, with what broke.
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('"event":"request_log_failed"');
      expect(errors[0]).toContain("log sink broke");
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });
});
