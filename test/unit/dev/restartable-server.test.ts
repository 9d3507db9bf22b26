import { afterEach, describe, expect, it } from "vitest";
import { restartableServer } from "../../../scripts/lib/origin.mjs";

/** The demo's and the bench's origins: `npm start`'s control port calls start() on origins that may be running. */
describe("restartableServer", () => {
  const server = restartableServer((_req, res) => {
    if (server.hanging) return;
    res.end("up");
  }, { keepAliveTimeoutMs: 1_000 });

  afterEach(() => server.stop());

  const get = (port: number) => fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) }).then((r) => r.text(), () => "no answer");

  it("start() on a running server keeps its port and answers on (it used to throw EADDRINUSE)", async () => {
    const port = await server.start();
    await expect(server.start()).resolves.toBe(port);
    expect(await get(port)).toBe("up");
  });

  it("start() twice at once listens once; a stop() sent while a start() is listening leaves the port closed", async () => {
    const [first, second] = await Promise.all([server.start(), server.start()]);
    expect(second).toBe(first);
    expect(await get(first)).toBe("up");
    await server.stop();
    const reopening = server.start();
    await server.stop();
    await reopening;
    expect(await get(first)).toBe("no answer");
  });

  it("start() on a hung server ends the hang; after stop() it opens the same port again", async () => {
    const port = await server.start();
    server.hang();
    expect(await get(port)).toBe("no answer");
    await server.start();
    expect(await get(port)).toBe("up");
    await server.stop();
    expect(await get(port)).toBe("no answer");
    await expect(server.start()).resolves.toBe(port);
    expect(await get(port)).toBe("up");
  });
});
