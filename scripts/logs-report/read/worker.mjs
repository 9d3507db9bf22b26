// @ts-check
// A worker thread of the parallel reader (pool.mjs): reads the files it is
// sent, one at a time, and posts back each file's partial aggregate.
import { parentPort } from "node:worker_threads";
import { Aggregator } from "../aggregate.mjs";
import { newTally, readInto } from "./file.mjs";

/**
 * @typedef {{ index: number, path: string }} Job
 * @typedef {{ type: "progress", bytes: number, events: number }
 *   | { type: "file", index: number, partial: import("../aggregate.mjs").Partial["data"],
 *       tally: import("./file.mjs").Tally, damage: import("./gzip-members.mjs").Damage | null }
 *   | { type: "failed", message: string }} Reply
 */

const port = parentPort;
if (port === null) throw new Error("read/worker.mjs runs as a worker thread");

/** @param {Reply} reply @param {ArrayBuffer[]} [transfer] */
const post = (reply, transfer = []) => port.postMessage(reply, transfer);

/** @param {Job} job */
async function read(job) {
  const agg = new Aggregator();
  const tally = newTally();
  let bytes = 0;
  let events = 0;
  // Progress as deltas: the main thread adds up every worker's.
  const report = () => {
    post({ type: "progress", bytes, events: agg.events - events });
    bytes = 0;
    events = agg.events;
  };
  const damage = await readInto(job.path, agg, tally, (n) => (bytes += n), report);
  report();
  const { data, transfer } = agg.partial();
  post({ type: "file", index: job.index, partial: data, tally, damage }, transfer);
}

port.on("message", (/** @type {Job} */ job) => {
  read(job).catch((/** @type {unknown} */ err) => post({ type: "failed", message: err instanceof Error ? err.message : String(err) }));
});
