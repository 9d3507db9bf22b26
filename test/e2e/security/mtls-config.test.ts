import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, wranglerDryRun } from "../../../scripts/lib/mesh-runtime.mjs";

/**
 * An `mtls` service needs an [[mtls_certificates]] binding in wrangler.toml.
 * The committed config carries it only as a comment (a real one needs an
 * uploaded certificate), so this checks that the mesh's config with such a
 * binding added is one `wrangler deploy` accepts.
 */
describe("wrangler.toml with an mtls_certificates binding", () => {
  it("passes wrangler deploy --dry-run and lists the binding", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "switchyard-mtls-"));
    try {
      const base = await readFile(path.join(ROOT, "wrangler.toml"), "utf8");
      // The temporary config lives elsewhere, so its entry point must be absolute.
      const config = base.replace(/^main = ".*"$/m, `main = ${JSON.stringify(path.join(ROOT, "workers/mesh/index.ts"))}`);
      expect(config).not.toBe(base);
      const toml = path.join(dir, "wrangler.toml");
      await writeFile(
        toml,
        `${config}\n[[mtls_certificates]]\nbinding = "ORIGIN_CERT"\ncertificate_id = "00000000-0000-4000-8000-000000000000"\n`,
      );
      const { output } = await wranglerDryRun({ config: toml, outdir: path.join(dir, "out") });
      expect(output).not.toMatch(/Unexpected fields/);
      expect(output).toMatch(/env\.ORIGIN_CERT\b.*mTLS/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
