// @ts-check
// Reading inputs into a report: the part of the CLI that tests and the bench call.
import { Aggregator } from "./aggregate.mjs";
import { extract } from "./extract.mjs";
import { findInputs, progressMeter, readLines } from "./input.mjs";

/**
 * @param {string[]} paths files, folders, or `-` for standard input
 * @param {{ progress?: Parameters<typeof progressMeter>[1] }} [opts]
 * @returns {Promise<import("./aggregate.mjs").Report>}
 */
export async function buildReport(paths, opts = {}) {
  const files = await findInputs(paths);
  const totalBytes = files.reduce((n, f) => n + f.bytes, 0);
  const progress = progressMeter(totalBytes, opts.progress);
  const agg = new Aggregator();
  let lines = 0;
  let malformed = 0;
  let other = 0;
  let read = 0;
  /** @type {{ file: string, error: string }[]} */
  const unreadable = [];
  for (const f of files) {
    const error = await readLines(
      f.path,
      (line) => {
        lines++;
        const x = extract(line);
        malformed += x.malformed;
        if (x.other) other++;
        for (const e of x.events) agg.add(e);
        if ((lines & 8191) === 0) progress.tick(agg.events);
      },
      (n) => {
        read += n;
        progress.addBytes(n);
      },
    );
    if (error !== null) unreadable.push({ file: f.path, error });
  }
  progress.done();
  return agg.report({ files: files.length, bytes: read, lines, malformed, other, unreadable });
}
