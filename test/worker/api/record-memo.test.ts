import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { KEY } from "../../../src/registry/keys.js";
import { PARSED_MAX_CHARS, parsedRecordChars, readServices } from "../../../src/registry/kv-registry.js";
import { uniqueName } from "../helpers.js";

/**
 * The per-isolate parse of service records (src/registry/kv-registry.ts):
 * kept by exact text, so a changed record is parsed again, and bounded by
 * size as well as count (a config may be 256 KiB; 512 of them held past an
 * isolate's memory).
 */
const written: string[] = [];

afterEach(async () => {
  for (const name of written.splice(0)) await env.REGISTRY.delete(KEY.service(name));
});

/** A record the mesh could have written, its JSON padded to `chars` characters (whitespace JSON allows). */
function recordText(name: string, prefix: string, chars: number): string {
  const text = JSON.stringify({ name, config: { routes: { pathPrefixes: [prefix] } }, tokenHash: "ab", createdAt: 1, updatedAt: 1 });
  return text + " ".repeat(Math.max(0, chars - text.length));
}

async function write(name: string, text: string): Promise<void> {
  await env.REGISTRY.put(KEY.service(name), text);
  written.push(name);
}

describe("the service record parse memo", () => {
  it("holds at most PARSED_MAX_CHARS of record text, however large the records", async () => {
    // 40 records of 250,000 characters: 10 M characters, under the count bound (512) but past the size one.
    const names = Array.from({ length: 40 }, () => uniqueName("big"));
    for (const name of names) await write(name, recordText(name, `/${name}`, 250_000));
    const reads = await readServices(env.REGISTRY, names);
    expect(reads.map((r) => (r === null || r instanceof Error ? null : r.config.routes.pathPrefixes))).toEqual(names.map((n) => [`/${n}`]));
    expect(parsedRecordChars()).toBeGreaterThan(0);
    expect(parsedRecordChars()).toBeLessThanOrEqual(PARSED_MAX_CHARS);
  });

  it("parses a record again when its text changes, and keeps the count of text right", async () => {
    const name = uniqueName("memo");
    await write(name, recordText(name, "/before", 0));
    const [first] = await readServices(env.REGISTRY, [name]);
    const held = parsedRecordChars();
    await write(name, recordText(name, "/after", 0));
    const [second] = await readServices(env.REGISTRY, [name]);
    const prefixes = (r: (typeof first) | undefined) => (r === undefined || r === null || r instanceof Error ? null : r.config.routes.pathPrefixes);
    expect(prefixes(first)).toEqual(["/before"]);
    expect(prefixes(second)).toEqual(["/after"]);
    // The replaced text no longer counts: "/after" is one character shorter than "/before".
    expect(parsedRecordChars()).toBe(held - 1);
    // Kept records are frozen: a caller cannot change the next caller's copy.
    expect(Object.isFrozen(second)).toBe(true);
  });
});
