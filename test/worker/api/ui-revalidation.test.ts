import { describe, expect, it } from "vitest";
import { mesh } from "../helpers.js";

/**
 * The dashboard's files are served with `cache-control: no-cache` and an
 * ETag, so that an unchanged file costs a 304 (docs/analytics.md,
 * *Dashboard*). If-None-Match is compared weakly (RFC 9110, 13.1.2) and may
 * list several tags or be `*`. Weak matters on Cloudflare: its edge turns a
 * strong ETag into a weak one unless a cache rule says to respect strong ones
 * (developers.cloudflare.com/cache/reference/etag-headers), so the browser
 * sends back `W/"…"`, and an exact comparison answered 200 every time.
 */

async function etagOf(path: string): Promise<string> {
  const res = await mesh(path);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  const etag = res.headers.get("etag");
  expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
  return etag ?? "";
}

async function statusWith(path: string, ifNoneMatch: string): Promise<number> {
  const res = await mesh(path, { headers: { "if-none-match": ifNoneMatch } });
  await res.arrayBuffer();
  return res.status;
}

describe("GET /_mesh/ui revalidation", () => {
  it("answers 304 to the tag as sent, its weak form, a list holding it, and *", async () => {
    for (const path of ["/_mesh/ui", "/_mesh/ui/dashboard.client.js"]) {
      const etag = await etagOf(path);
      expect(await statusWith(path, etag)).toBe(304);
      expect(await statusWith(path, `W/${etag}`)).toBe(304);
      expect(await statusWith(path, `"0123", W/${etag}`)).toBe(304);
      expect(await statusWith(path, `"0123",${etag}`)).toBe(304);
      expect(await statusWith(path, "*")).toBe(304);
    }
  });

  it("answers 200 with the body to a tag that differs, or to a malformed header", async () => {
    const etag = await etagOf("/_mesh/ui");
    expect(await statusWith("/_mesh/ui", `W/"${"0".repeat(32)}"`)).toBe(200);
    expect(await statusWith("/_mesh/ui", etag.slice(1, -1))).toBe(200);
    expect(await statusWith("/_mesh/ui", `${etag}x`)).toBe(200);
    expect(await statusWith("/_mesh/ui", "")).toBe(200);
  });
});
