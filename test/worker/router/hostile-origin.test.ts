import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { serviceWith, stubFor } from "../helpers.js";

/**
 * Origin answers that Node's http would refuse to write, sent byte for byte by
 * the loopback origins' `raw` fault (scripts/lib/origin.mjs): what the client
 * gets, and what the origin is charged with.
 */

/** Asks the loopback origin to answer with exactly these bytes. */
function rawAnswer(http: string): Record<string, string> {
  return { "x-origin-fault": "raw", "x-origin-raw": btoa(http) };
}

async function exchange(url: string, init: RequestInit): Promise<{ res: Response; text: string; event: Record<string, unknown> | undefined }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  const ctx = createExecutionContext();
  try {
    const res = await worker.fetch(new Request(url, init) as Request<unknown, IncomingRequestCfProperties>, { ...env, REQUEST_LOG: "json" }, ctx);
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    const event = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === "request");
    return { res, text, event };
  } finally {
    spy.mockRestore();
  }
}

describe("hostile origin answers", () => {
  // fetch hands such a status back as it came; a Response cannot carry it (200..599), so relaying it threw.
  for (const status of [600, 999]) {
    it(`(status ${status}) is a failed try answered 502, charged to the origin, not a mesh error`, async () => {
      const { name } = await serviceWith(1);
      const { res, text, event } = await exchange(`http://mesh.test/${name}/odd`, {
        headers: rawAnswer(`HTTP/1.1 ${status} Odd\r\nContent-Length: 4\r\n\r\nodd!`),
      });
      expect(res.status).toBe(502);
      expect(JSON.parse(text)).toMatchObject({ error: "upstream_unavailable" });
      expect(event).toMatchObject({ outcome: "upstream_error", status: 502, failures: ["reset"] });
      expect((await stubFor(name).describe()).instances.map((i) => [i.requests, i.failures])).toEqual([[1, 1]]);
    });
  }
});
