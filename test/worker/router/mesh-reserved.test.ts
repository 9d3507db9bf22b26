import { describe, expect, it } from "vitest";
import { createService, mesh, originUrls, register, uniqueName } from "../helpers.js";

/**
 * `/_mesh` belongs to the control plane: the schema refuses it as a route
 * (path-prefix.ts), so no service may be sent a request for it, not even a
 * catch-all. A host-scoped catch-all keeps the test's route out of others' way.
 */
describe("the control plane's reserved path", () => {
  it("answers /_mesh itself from the control plane, never from a catch-all service's origin", async () => {
    const name = uniqueName("catchall");
    const host = `${name}.example.com`;
    const { token } = await createService(name, { routes: { hosts: [host], pathPrefixes: ["/"] } });
    await register(name, token, originUrls()[0] ?? "");
    // The catch-all takes everything else on its host.
    expect((await mesh(`http://${host}/_meshx`)).status).toBe(200);
    // The route stage compares paths with their escapes normalized (canonical-path.ts): `%5F` is `_`.
    const answers: [string, number, string][] = [
      ["/_mesh", 404, "not_found"],
      ["/_mesh?x=1", 404, "not_found"],
      ["/%5Fmesh", 404, "not_found"],
      // The control plane's own answer to its API without the admin token.
      ["/%5fmesh/v1/services", 401, "unauthorized"],
    ];
    for (const [path, status, error] of answers) {
      const res = await mesh(`http://${host}${path}`);
      expect(res.status, path).toBe(status);
      expect(await res.json(), path).toMatchObject({ error });
      expect(res.headers.get("x-mesh-instance"), path).toBeNull();
    }
  });
});
