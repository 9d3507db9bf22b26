// @ts-check
// Reading many files on worker threads, one file at a time per thread, and
// merging each file's partial aggregate in file order (so the report is the
// one a single thread builds: see aggregate.mjs). Gunzip and parsing are CPU
// bound, so this scales with cores up to the number of files.
import { Worker } from "node:worker_threads";
import { Aggregator } from "../aggregate.mjs";
import { newTally } from "./file.mjs";

/**
 * @typedef {import("./worker.mjs").Reply} Reply
 * @typedef {Extract<Reply, { type: "file" }>} FileReply
 * @typedef {import("./file.mjs").Tally} Tally
 */

/**
 * @param {{ path: string }[]} files
 * @param {number} threads  at least 1; no more are started than there are files
 * @param {{ addBytes(n: number): void, tick(events: number): void }} progress
 * @returns {Promise<{ agg: Aggregator, tally: Tally, unreadable: import("../aggregate.mjs").Unreadable[] }>}
 */
export function readInParallel(files, threads, progress) {
  const agg = new Aggregator();
  const tally = newTally();
  /** @type {import("../aggregate.mjs").Unreadable[]} */
  const unreadable = [];
  /** Replies that came back before an earlier file's, held until that one is merged. @type {Map<number, FileReply>} */
  const waiting = new Map();
  let nextToSend = 0;
  let nextToMerge = 0;
  let eventsSeen = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(threads, files.length)) }, () => new Worker(new URL("./worker.mjs", import.meta.url)));

  /** @param {FileReply} r */
  const mergeReply = (r) => {
    agg.merge(r.partial);
    tally.lines += r.tally.lines;
    tally.malformed += r.tally.malformed;
    tally.unknownVersion += r.tally.unknownVersion;
    tally.other += r.tally.other;
    tally.bytes += r.tally.bytes;
    if (r.damage !== null) unreadable.push({ file: files[r.index]?.path ?? "", ...r.damage });
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    /** @param {Error | null} err */
    const finish = (err) => {
      if (settled) return;
      settled = true;
      // terminate() resolves once the thread is gone; nothing is left to wait for either way.
      Promise.all(workers.map((w) => w.terminate())).then(
        () => (err === null ? resolve({ agg, tally, unreadable }) : reject(err)),
        (/** @type {unknown} */ e) => reject(e instanceof Error ? e : new Error(String(e))),
      );
    };
    /** @param {Worker} w */
    const sendNext = (w) => {
      const f = files[nextToSend];
      if (f === undefined) return;
      w.postMessage({ index: nextToSend++, path: f.path });
    };
    for (const w of workers) {
      w.on("message", (/** @type {Reply} */ r) => {
        if (r.type === "progress") {
          progress.addBytes(r.bytes);
          eventsSeen += r.events;
          progress.tick(eventsSeen);
        } else if (r.type === "failed") {
          finish(new Error(r.message));
        } else {
          sendNext(w);
          waiting.set(r.index, r);
          for (let next = waiting.get(nextToMerge); next !== undefined; next = waiting.get(nextToMerge)) {
            waiting.delete(nextToMerge++);
            mergeReply(next);
          }
          if (nextToMerge === files.length) finish(null);
        }
      });
      w.on("error", (err) => finish(err));
      w.on("exit", (code) => finish(new Error(`a reader thread exited with code ${code}`)));
      sendNext(w);
    }
  });
}
