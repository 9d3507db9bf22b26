import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KEY } from "../../../src/registry/keys.js";
import { listInstances } from "../../../src/registry/kv-registry.js";
import { uniqueName } from "../helpers.js";

/**
 * The KV fallback (coordinator unreachable) builds a router's snapshot from
 * the `instance:*` keys' metadata (src/registry/kv-registry.ts). A key the
 * mesh did not write, or whose metadata was damaged, must not reach the
 * balancer as it is: an instance without a usable url, or with a weight that
 * is not a number, is either left out or normalised.
 */
describe("the KV mirror as the fallback snapshot reads it", () => {
  it("leaves out entries without a usable url and normalises weight, zone and priority", async () => {
    const name = uniqueName("mirror");
    const put = (id: string, metadata: unknown) => env.REGISTRY.put(KEY.instance(name, id), "{}", { metadata });
    await put("aaaaaaaaaaaaaaaa", { url: "http://127.0.0.1:1", weight: 3, zone: "eu", priority: 1 });
    await put("bbbbbbbbbbbbbbbb", { weight: 1, zone: null });
    await put("cccccccccccccccc", { url: 42, weight: 1, zone: null });
    await put("dddddddddddddddd", { url: "not a url", weight: 1, zone: null });
    await put("eeeeeeeeeeeeeeee", { url: "http://127.0.0.1:2", weight: "5", zone: 7, priority: "x" });
    await put("ffffffffffffffff", { url: "http://127.0.0.1:3", weight: -4 });
    await put("gggggggggggggggg", "a string");

    const got = await listInstances(env.REGISTRY, name);
    expect(got).toEqual([
      { id: "aaaaaaaaaaaaaaaa", url: "http://127.0.0.1:1", weight: 3, zone: "eu", priority: 1 },
      { id: "eeeeeeeeeeeeeeee", url: "http://127.0.0.1:2", weight: 1, zone: null },
      { id: "ffffffffffffffff", url: "http://127.0.0.1:3", weight: 1, zone: null },
    ]);
  });
});
