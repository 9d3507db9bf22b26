// Microbenchmark: what building the upstream request's headers costs per
// request, in workerd (src/core/proxy/forward-headers.ts upstreamHeaders, the
// header rules the mesh and the hand-rolled Worker share). Not a timed test:
// it prints a table (and JSON with --json).
//
//   node scripts/bench/headers-micro.mjs [--quick] [--json] [--compare <file.ts>]
//
// Each "request" builds upstream headers from a client's request headers (a
// browser-like set of 12, as a Request hands them over) and reads one back, against a
// baseline that only reads one. --compare adds a second implementation of
// upstreamHeaders from another file (an older commit's, from `git show`), run
// in the same rounds, so a change is measured against what it replaces. A
// Worker cannot time itself, so, as pick-micro.mjs does, we charge the
// workerd process's CPU time.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { measureModes } from "./lib/cpu-probe.mjs";
import { tempDir } from "./lib/temp.mjs";
import { ROOT } from "./lib/worker-runtime.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const asJson = args.includes("--json");
const at = args.indexOf("--compare");
const compare = at === -1 ? null : args[at + 1];
if (at !== -1 && (compare === undefined || compare.startsWith("--"))) {
  process.stderr.write("headers-micro: --compare needs a file\n");
  process.exit(2);
}
const MODES = compare === null ? ["current"] : ["current", "compared"];

async function main() {
  const dir = await tempDir("headers-micro");
  const src = (p) => JSON.stringify(path.isAbsolute(p) ? p : path.join(ROOT, p));
  await writeFile(
    path.join(dir, "index.js"),
    `import { upstreamHeaders as current } from ${src("src/core/proxy/forward-headers.ts")};
${compare === null ? "const compared = current;" : `import { upstreamHeaders as compared } from ${src(path.resolve(compare))};`}
const CLIENT = {
  host: "api.example.com", accept: "application/json", "accept-encoding": "gzip, br", "accept-language": "en-GB,en;q=0.9",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", cookie: "session=abc123; theme=dark", "cf-connecting-ip": "203.0.113.7",
  "cf-ray": "8f1a2b3c4d5e6f70-LHR", "x-request-id": "r-42", "x-forwarded-for": "198.51.100.1", "sec-fetch-mode": "cors", connection: "keep-alive",
};
const ctx = { clientIp: "203.0.113.7", proto: "https", host: "api.example.com" };
export default {
  fetch(request) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n") ?? "0");
    const mode = q.get("mode");
    const incoming = new Request("https://api.example.com/x", { headers: CLIENT }).headers;
    let checksum = 0;
    for (let i = 0; i < n; i++) {
      if (mode === "current") checksum += current(incoming, ctx).get("x-forwarded-proto")?.length ?? 0;
      else if (mode === "compared") checksum += compared(incoming, ctx).get("x-forwarded-proto")?.length ?? 0;
      else checksum += incoming.get("accept")?.length ?? 0;
    }
    return new Response(String(checksum));
  },
};
`,
  );
  const n = quick ? 50_000 : 200_000;
  const rounds = quick ? 3 : 7;
  const result = await measureModes({ name: "bench-headers-micro", dir, base: "base", modes: MODES, n, rounds });
  if (asJson) {
    console.log(JSON.stringify({ n, rounds, compare, modes: result }, null, 2));
    return;
  }
  console.log(`upstream headers from 12 client headers, workerd CPU per request over reading one header (median of ${rounds} rounds of ${n.toLocaleString("en")}):`);
  for (const m of MODES) console.log(`  ${(m === "compared" ? String(compare) : m).padEnd(11)} ${result[m].usPerRequest.toFixed(2).padStart(7)} µs   rounds: ${result[m].rounds.join(", ")}`);
}

await main();
