import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { record } from "../../../src/edge/report/record.js";
import { newRequestState } from "../../../src/edge/request-state.js";

/**
 * The record stage's deferred log line (src/edge/report/record.ts): written on
 * a later turn and held by waitUntil. A write that throws must still settle
 * that waitUntil, and must end as one logged error, not an exception thrown
 * out of a timer (an uncaught exception in the invocation).
 */
describe("record: the deferred request line", () => {
  it("settles waitUntil and logs one error when writing the line throws", async () => {
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
      record(state, new URL("http://mesh.test/nothing-here"), { ...env, REQUEST_LOG: "json", METRICS: "off" }, ctx);
      await waitOnExecutionContext(ctx);
      expect(log).toHaveBeenCalledTimes(1);
      // Caught and said once, with what broke; before, the throw left the timer as an uncaught exception.
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('"event":"request_log_failed"');
      expect(errors[0]).toContain("log sink broke");
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });
});
