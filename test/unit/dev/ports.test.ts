import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { portIsFree, takenPorts } from "../../../scripts/lib/ports.mjs";

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    servers.push(s);
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      resolve(addr !== null && typeof addr === "object" ? addr.port : 0);
    });
  });
}

describe("demo port pre-flight (scripts/lib/ports.mjs)", () => {
  it("reports a taken port by name and number, and a free one as free", async () => {
    const taken = await listen();
    const free = await listen();
    await new Promise((r) => servers.splice(1, 1)[0]?.close(r));
    expect(await portIsFree(taken)).toBe(false);
    expect(await portIsFree(free)).toBe(true);
    const lines = await takenPorts([
      { name: "MESH_PORT", port: taken },
      { name: "DEMO_CONTROL_PORT", port: free },
      { name: "DEMO_ORIGIN_PORTS", port: Number("x") },
    ]);
    expect(lines).toEqual([
      `MESH_PORT: 127.0.0.1:${taken} is already in use (an earlier demo or \`npm run dev\` still running?)`,
      "DEMO_ORIGIN_PORTS: NaN is not a port number (1-65535)",
    ]);
    // Checking does not hold the free port.
    expect(await portIsFree(free)).toBe(true);
  });
});
