import { describe, expect, it } from "vitest";
import { type Echo, mesh, serviceWith } from "../helpers.js";

/** The request target an origin receives, as the loopback origin saw it on the wire (`target`). */
async function targetFor(path: string): Promise<string> {
  const res = await mesh(path);
  expect(res.status).toBe(200);
  return (await res.json<Echo>()).target;
}

describe("the request target sent upstream", () => {
  it("keeps the query exactly, an empty one included", async () => {
    const { name } = await serviceWith(1);
    expect(await targetFor(`/${name}/x?a=1&a=2&b=%20+x&c=%2F&d=%zz`)).toBe(`/${name}/x?a=1&a=2&b=%20+x&c=%2F&d=%zz`);
    // "/x?" and "/x" are different URLs (RFC 3986 §6.2.3 keeps an empty query's "?").
    expect(await targetFor(`/${name}/x?`)).toBe(`/${name}/x?`);
    expect(await targetFor(`/${name}/x`)).toBe(`/${name}/x`);
  });

  it("routes on segment boundaries and keeps encoded slashes and double slashes as they came", async () => {
    const { name } = await serviceWith(1);
    expect((await mesh(`/${name}x/y`)).status).toBe(404);
    expect(await targetFor(`/${name}/a%2Fb//c`)).toBe(`/${name}/a%2Fb//c`);
    // Dot segments, encoded or not, are resolved before routing, so the route matched is the path sent.
    expect(await targetFor(`/${name}/a/%2e%2e/b/./c`)).toBe(`/${name}/b/c`);
  });
});
