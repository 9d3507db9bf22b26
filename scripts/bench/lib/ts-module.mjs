// Loads one of the project's pure TypeScript modules (src/core/...) into Node
// by bundling it with esbuild (installed with wrangler) to a temporary .mjs.
// Pure core modules have no cloudflare:* imports, so they run as they are.

import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../../lib/mesh-runtime.mjs";
import { tempDir } from "./temp.mjs";

/** @param {string} entry path relative to the repo root, e.g. "src/core/routes/route-table.ts" */
export async function bundleTsModule(entry) {
  const require = createRequire(path.join(ROOT, "package.json"));
  const esbuild = await import(pathToFileURL(require.resolve("esbuild")).href);
  const dir = await tempDir("ts");
  const outfile = path.join(dir, `${path.basename(entry, ".ts")}.mjs`);
  await (esbuild.build ?? esbuild.default.build)({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile,
    logLevel: "silent",
  });
  return outfile;
}
