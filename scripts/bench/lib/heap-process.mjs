// Child-process entry, run with --expose-gc: how much V8 heap a parsed
// snapshot and a built route table take, measured as the heap growth from
// holding many copies (so allocator noise averages out), divided by the count.
// argv: <snapshot.json> <route-index.json> <route-table.mjs>
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [snapshotFile, indexFile, routeTableModule] = process.argv.slice(2);
const { RouteTable } = await import(pathToFileURL(routeTableModule).href);
const gc = globalThis.gc;
if (typeof gc !== "function") throw new Error("run with --expose-gc");

function heapPer(make, copies) {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep = [];
  for (let i = 0; i < copies; i++) keep.push(make());
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep.length !== copies) throw new Error("unreachable");
  return (after - before) / copies;
}

const snapshotText = readFileSync(snapshotFile, "utf8");
const indexText = readFileSync(indexFile, "utf8");
const snapshotBytes = heapPer(() => JSON.parse(snapshotText), 2000);
const indexParsedBytes = heapPer(() => JSON.parse(indexText), 10);
const tableBytes = heapPer(() => {
  const index = JSON.parse(indexText);
  const table = new RouteTable(index.services.map((s) => ({ service: s.name, ...s.routes })));
  return { table, services: new Map(index.services.map((s) => [s.name, s])) };
}, 10);
process.stdout.write(`${JSON.stringify({ snapshotHeapBytes: Math.round(snapshotBytes), indexParsedHeapBytes: Math.round(indexParsedBytes), routesLoadedHeapBytes: Math.round(tableBytes) })}\n`);
