// Microbenchmark: what relaying an origin's answer costs per request, in
// workerd, for each `responseHeaders` value. Not a timed test: it prints a
// table (and JSON with --json).
//
//   node scripts/bench/respond-micro.mjs [--quick] [--json]
//
// Each "request" takes an origin answer with the headers a small JSON answer
// carries (Response objects made up front, as fetch hands them over) and
// relays it as src/edge/respond/respond.ts does:
//   mesh        downstreamHeaders + x-mesh-instance + x-mesh-attempts + new Response (the default)
//   none        downstreamHeaders + new Response: a body the try read or watches is a new body
//   none-as-is  hasHopByHop, then the origin's Response itself (a bodiless answer, e.g. HEAD)
// charged against a baseline that only reads the answer's status. A Worker
// cannot time itself (its clocks stand still while JavaScript runs), so, as
// scripts/bench/pick-micro.mjs does, we charge the workerd process's CPU time.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { measureModes } from "./lib/cpu-probe.mjs";
import { tempDir } from "./lib/temp.mjs";
import { ROOT } from "./lib/worker-runtime.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const asJson = args.includes("--json");
const MODES = ["mesh", "none", "none-as-is"];

async function main() {
  const dir = await tempDir("respond-micro");
  const src = (p) => JSON.stringify(path.join(ROOT, p));
  await writeFile(
    path.join(dir, "index.js"),
    `import { downstreamHeaders, hasHopByHop } from ${src("src/core/proxy/forward-headers.ts")};
const ORIGIN_HEADERS = { "content-type": "application/json", "content-length": "312", date: "Mon, 30 Nov 2026 10:00:00 GMT", "x-origin": "o1", "cache-control": "no-store" };
const body = new ArrayBuffer(312);
export default {
  fetch(request) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n") ?? "0");
    const mode = q.get("mode");
    let checksum = 0;
    for (let i = 0; i < n; i++) {
      const response = new Response(null, { status: 200, headers: ORIGIN_HEADERS });
      if (mode === "mesh") {
        const headers = downstreamHeaders(response.headers);
        headers.set("x-mesh-instance", "a1b2c3d4e5f60718");
        headers.set("x-mesh-attempts", String(1 + (i & 1)));
        checksum += new Response(body, { status: response.status, statusText: response.statusText, headers }).status;
      } else if (mode === "none") {
        checksum += new Response(body, { status: response.status, statusText: response.statusText, headers: downstreamHeaders(response.headers) }).status;
      } else if (mode === "none-as-is") {
        checksum += hasHopByHop(response.headers) ? 0 : response.status;
      } else {
        checksum += response.status;
      }
    }
    return new Response(String(checksum));
  },
};
`,
  );
  const n = quick ? 100_000 : 300_000;
  const rounds = quick ? 3 : 7;
  const result = await measureModes({ name: "bench-respond-micro", dir, base: "base", modes: MODES, n, rounds });
  if (asJson) {
    console.log(JSON.stringify({ n, rounds, modes: result }, null, 2));
    return;
  }
  console.log(`relaying an origin's answer, workerd CPU per request over reading its status (median of ${rounds} rounds of ${n.toLocaleString("en")}):`);
  for (const m of MODES) console.log(`  ${m.padEnd(11)} ${result[m].usPerRequest.toFixed(2).padStart(7)} µs   rounds: ${result[m].rounds.join(", ")}`);
}

await main();
