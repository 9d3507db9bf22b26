// @ts-check
// Reading inputs into a report: the part of the CLI that tests and the bench call.
import { availableParallelism } from "node:os";
import { Aggregator } from "./aggregate.mjs";
import { newTally, readInto } from "./read/file.mjs";
import { findInputs, progressMeter } from "./read/input.mjs";
import { readInParallel } from "./read/pool.mjs";

/**
 * Below this much input, starting worker threads (tens of milliseconds each)
 * costs more than it saves: one thread reads about 7 MB of gzip a second (logs:bench).
 */
const PARALLEL_MIN_BYTES = 4 * 1024 * 1024;

/**
 * How many threads read these files (1: this one alone).
 * @param {{ path: string, bytes: number }[]} files
 * @param {number | undefined} threads  asked for; by default one per core
 */
export function threadsFor(files, threads) {
  // Standard input is one stream, read on this thread; so is a single file (a gzip stream cannot be split).
  if (files.length < 2 || files.some((f) => f.path === "-")) return 1;
  if (threads !== undefined) return Math.max(1, Math.min(threads, files.length));
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  return bytes < PARALLEL_MIN_BYTES ? 1 : Math.min(availableParallelism(), files.length);
}

/**
 * @param {{ path: string, bytes: number }[]} files
 * @param {ReturnType<typeof progressMeter>} progress
 * @param {import("node:stream").Readable} [stdin]
 */
async function readHere(files, progress, stdin) {
  const agg = new Aggregator();
  const tally = newTally();
  /** @type {import("./aggregate.mjs").Unreadable[]} */
  const unreadable = [];
  for (const f of files) {
    const damage = await readInto(f.path, agg, tally, (n) => progress.addBytes(n), () => progress.tick(agg.events), stdin);
    if (damage !== null) unreadable.push({ file: f.path, ...damage });
  }
  return { agg, tally, unreadable };
}

/**
 * @param {string[]} paths files, folders, or `-` for standard input
 * @param {{ progress?: Parameters<typeof progressMeter>[1], threads?: number, onNoLogFile?: Parameters<typeof findInputs>[1],
 *           stdin?: import("node:stream").Readable }} [opts]
 *   threads: how many worker threads read the files (1: none, all on this thread);
 *   by default one per core for inputs over PARALLEL_MIN_BYTES in two files or more.
 *   onNoLogFile: told of each named folder that held no log file.
 *   stdin: what `-` reads, process.stdin by default.
 * @returns {Promise<import("./aggregate.mjs").Report>}
 */
export async function buildReport(paths, opts = {}) {
  const files = await findInputs(paths, opts.onNoLogFile);
  // Standard input's size is known only once it ends: the meter then counts bytes read instead of a share of a total.
  const totalBytes = files.some((f) => f.path === "-") ? null : files.reduce((n, f) => n + f.bytes, 0);
  const progress = progressMeter(totalBytes, opts.progress);
  const threads = threadsFor(files, opts.threads);
  // Standard input is read on this thread (threadsFor), so only readHere is handed it.
  const { agg, tally, unreadable } = threads > 1 ? await readInParallel(files, threads, progress) : await readHere(files, progress, opts.stdin);
  progress.done();
  return agg.report({ files: files.length, bytes: tally.bytes, lines: tally.lines, malformed: tally.malformed, unknownVersion: tally.unknownVersion, other: tally.other, unreadable });
}
