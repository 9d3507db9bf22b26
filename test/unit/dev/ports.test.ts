import { spawnSync } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { demoPorts, portIsFree, takenPorts } from "../../../scripts/lib/ports.mjs";

const DEMO = path.resolve(import.meta.dirname, "../../../scripts/demo.mjs");

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

describe("demo port settings (demoPorts: MESH_PORT, DEMO_CONTROL_PORT, DEMO_ORIGIN_PORTS, DEMO_INSPECTOR_PORT)", () => {
  it("defaults to 8787, 8790 and 9101-9103, with no inspector port", () => {
    expect(demoPorts({})).toEqual({ ports: { mesh: 8787, control: 8790, origins: [9101, 9102, 9103], inspector: undefined }, problems: [] });
    expect(demoPorts({ MESH_PORT: "18787", DEMO_CONTROL_PORT: "18790", DEMO_ORIGIN_PORTS: "19101,19102,19103", DEMO_INSPECTOR_PORT: "19229" })).toEqual({
      ports: { mesh: 18787, control: 18790, origins: [19101, 19102, 19103], inspector: 19229 },
      problems: [],
    });
  });

  it.each([
    // Number() took each of these: "" as 0 (then named as "0"), hex and exponents as some other port.
    [{ MESH_PORT: "" }, "MESH_PORT: '' is not a port number (1-65535)"],
    [{ MESH_PORT: "0x1f90" }, "MESH_PORT: '0x1f90' is not a port number (1-65535)"],
    [{ DEMO_CONTROL_PORT: "8.79e3" }, "DEMO_CONTROL_PORT: '8.79e3' is not a port number (1-65535)"],
    [{ DEMO_CONTROL_PORT: " 8790" }, "DEMO_CONTROL_PORT: ' 8790' is not a port number (1-65535)"],
    [{ DEMO_INSPECTOR_PORT: "65536" }, "DEMO_INSPECTOR_PORT: '65536' is not a port number (1-65535)"],
    [{ DEMO_INSPECTOR_PORT: "９２２９" }, "DEMO_INSPECTOR_PORT: '９２２９' is not a port number (1-65535)"],
    [{ DEMO_ORIGIN_PORTS: "9101,,9103" }, "DEMO_ORIGIN_PORTS: '' is not a port number (1-65535)"],
    // The guided run stops origin-2 and the curl lines hang origin-3: one port crashed it (origins[1] undefined).
    [{ DEMO_ORIGIN_PORTS: "9101" }, "DEMO_ORIGIN_PORTS: '9101' lists 1 port(s); the demo runs three origins, e.g. '9101,9102,9103'"],
    [{ DEMO_ORIGIN_PORTS: "1,2,3,4" }, "DEMO_ORIGIN_PORTS: '1,2,3,4' lists 4 port(s); the demo runs three origins, e.g. '9101,9102,9103'"],
    // Each was free when checked alone; the second to bind failed, or the demo probed an origin as the mesh.
    [{ DEMO_ORIGIN_PORTS: "9101,9101,9103" }, "DEMO_ORIGIN_PORTS: 9101 is named twice (DEMO_ORIGIN_PORTS, DEMO_ORIGIN_PORTS)"],
    [{ MESH_PORT: "9102" }, "DEMO_ORIGIN_PORTS: 9102 is named twice (MESH_PORT, DEMO_ORIGIN_PORTS)"],
    [{ DEMO_CONTROL_PORT: "8787" }, "DEMO_CONTROL_PORT: 8787 is named twice (MESH_PORT, DEMO_CONTROL_PORT)"],
  ])("refuses %j", (env, problem) => {
    expect(demoPorts(env).problems).toEqual([problem]);
  });

  it("npm start exits 2 on a bad setting, one line per problem, before it starts anything", () => {
    const r = spawnSync(process.execPath, [DEMO], {
      encoding: "utf8",
      timeout: 20_000,
      env: { ...process.env, MESH_PORT: "0x1f90", DEMO_ORIGIN_PORTS: "9101" },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "npm start: cannot start, bad port settings:\n" +
        "  MESH_PORT: '0x1f90' is not a port number (1-65535)\n" +
        "  DEMO_ORIGIN_PORTS: '9101' lists 1 port(s); the demo runs three origins, e.g. '9101,9102,9103'\n",
    );
    // Nothing started: the first line a start prints names the demo origins.
    expect(r.stdout).toBe("");
  });
});
