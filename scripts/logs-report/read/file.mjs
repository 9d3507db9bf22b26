// @ts-check
// One input file folded into an aggregate: the unit of work, run on the main
// thread for a small input and on a worker thread per file for a large one.
import { extract } from "./extract.mjs";
import { readLines } from "./input.mjs";

/**
 * What the report says about its input besides the events.
 * @typedef {{ lines: number, malformed: number, unknownVersion: number, other: number, bytes: number }} Tally
 */

/** @returns {Tally} */
export const newTally = () => ({ lines: 0, malformed: 0, unknownVersion: 0, other: 0, bytes: 0 });

/** Lines between progress callbacks: rare enough to cost nothing, often enough for a once-a-second meter. */
export const PROGRESS_LINES = 8192;

/**
 * @param {string} file
 * @param {import("../aggregate.mjs").Aggregator} agg  the file's events are added to it
 * @param {Tally} tally  counted into in place
 * @param {(bytes: number) => void} onBytes  raw (compressed) bytes as they are read
 * @param {() => void} onLines  every PROGRESS_LINES lines
 * @param {import("node:stream").Readable} [stdin]  what `-` reads; process.stdin by default
 * @returns {Promise<import("./gzip-members.mjs").Damage | null>} null, or why the file could not be read whole
 */
export function readInto(file, agg, tally, onBytes, onLines, stdin) {
  return readLines(
    file,
    (line) => {
      tally.lines++;
      const x = extract(line);
      tally.unknownVersion += x.unknownVersion;
      if (x.other) tally.other++;
      tally.malformed += x.malformed;
      for (const e of x.events) if (!agg.add(e)) tally.malformed++;
      if (tally.lines % PROGRESS_LINES === 0) onLines();
    },
    (n) => {
      tally.bytes += n;
      onBytes(n);
    },
    stdin,
  );
}
