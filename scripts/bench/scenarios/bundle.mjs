// Scenario 6: the deployable bundle. `wrangler deploy --dry-run --outdir` on
// the root wrangler.toml, as shipped (wrangler.toml decides minification) and
// with --minify; sizes raw and gzipped (wrangler's own "gzip" figure and ours,
// zlib level 9), and which modules take the bytes (esbuild metafile).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { wranglerDryRun } from "../../lib/mesh-runtime.mjs";
import { round } from "../lib/stats.mjs";
import { tempDir } from "../lib/temp.mjs";

async function build(minify) {
  const dir = await tempDir("bundle");
  const meta = path.join(dir, "meta.json");
  const { output } = await wranglerDryRun({ outdir: dir, args: ["--metafile", meta, ...(minify ? ["--minify"] : [])] });
  const code = await readFile(path.join(dir, "index.js"));
  // "Total Upload: 263.15 KiB / gzip: 50.12 KiB"
  const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
  const metafile = JSON.parse(await readFile(meta, "utf8"));
  return {
    rawBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    wranglerTotalKiB: m ? Number(m[1]) : null,
    wranglerGzipKiB: m ? Number(m[2]) : null,
    modules: topModules(metafile),
  };
}

/** Bytes in the output per package (node_modules/<pkg>) or per source folder. */
function topModules(metafile) {
  const out = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined) ?? Object.values(metafile.outputs)[0];
  const groups = new Map();
  for (const [file, info] of Object.entries(out?.inputs ?? {})) {
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const key = nm ? nm[1] : file.split("/").slice(0, 3).join("/");
    groups.set(key, (groups.get(key) ?? 0) + info.bytesInOutput);
  }
  const total = [...groups.values()].reduce((a, b) => a + b, 0);
  return [...groups.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([module, bytes]) => ({ module, bytes, share: round(bytes / total, 3) }));
}

/** @param {{ log: (s: string) => void }} ctx */
export async function bundleSize({ log }) {
  const asShipped = await build(false);
  const minified = await build(true);
  const kib = (b) => (b / 1024).toFixed(1);
  log(`bundle: as shipped ${kib(asShipped.rawBytes)} KiB, gzip ${kib(asShipped.gzipBytes)} KiB; --minify ${kib(minified.rawBytes)} KiB, gzip ${kib(minified.gzipBytes)} KiB (target ≤ 100 KiB gzipped)`);
  log(`  largest: ${asShipped.modules.slice(0, 5).map((m) => `${m.module} ${kib(m.bytes)} KiB`).join(", ")}`);
  return { targetGzipKiB: 100, asShipped, minified };
}
