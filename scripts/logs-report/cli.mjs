#!/usr/bin/env node
// @ts-check
// `npm run logs:report -- [--json] [--html <file>] <dir|file|- ...>`, also the
// `switchyard-logs-report` bin: a report over Logpush output (Workers Trace
// Events NDJSON, gzipped or not) or the mesh's own event lines (docs/analytics.md).
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { outFileProblem } from "../lib/out-file.mjs";
import { watchStdout } from "../lib/stdout-errors.mjs";
import { renderHtml } from "./render-html.mjs";
import { buildReport } from "./report.mjs";
import { renderText } from "./render-text.mjs";

const USAGE = `usage: switchyard-logs-report [--json] [--html <file>] <dir|file|- ...>
  Reads Workers Trace Events Logpush output (NDJSON, gzipped or not) from files
  and folders (recursively), or '-' for standard input, and prints per service
  and instance: requests, error and failover rates, latency percentiles, top
  failure kinds and a time series.
  --json         print the report as JSON instead of a table
  --html <file>  also write a self-contained HTML report with a chart
  --quiet        no progress on stderr`;

/** @param {string[]} argv */
function parse(argv) {
  try {
    return parseArgs({
      args: argv,
      options: { json: { type: "boolean" }, html: { type: "string" }, quiet: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return null;
  }
}

async function main() {
  const args = parse(process.argv.slice(2));
  if (args === null) return 2;
  if (args.values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const html = args.values.html;
  if (html === "") {
    process.stderr.write(`logs-report: --html needs a file name\n${USAGE}\n`);
    return 2;
  }
  // Before any input is read: a mistyped folder should not cost a read of gigabytes first.
  const htmlProblem = html === undefined ? null : await outFileProblem(html);
  if (htmlProblem !== null) {
    process.stderr.write(`logs-report: --html ${html}: ${htmlProblem}\n`);
    return 1;
  }
  let report;
  try {
    report = await buildReport(args.positionals, {
      ...(args.values.quiet === true ? { progress: { threshold: Infinity } } : {}),
      // Said even with --quiet: an input that adds nothing to the report is not progress.
      onNoLogFile: (folder, otherFiles) =>
        process.stderr.write(
          `logs-report: ${folder}: no log file in this folder (${otherFiles} other file(s) left alone; a folder's files are read when named *.log, *.ndjson, *.jsonl, *.json, *.txt, or *.gz)\n`,
        ),
    });
  } catch (err) {
    // A missing path or an unreadable file is the caller's to fix: say which, no stack.
    process.stderr.write(`logs-report: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  for (const u of report.input.unreadable) {
    const what =
      u.damagedMembers === 0
        ? `read up to an error (${u.error})`
        : `${u.damagedMembers} damaged gzip member(s), ${u.damagedBytes} compressed byte(s) unreadable (first: ${u.error}); every line before and after the damage was read`;
    process.stderr.write(`logs-report: ${u.file}: ${what}\n`);
  }
  if (html !== undefined) {
    try {
      await writeFile(html, renderHtml(report));
    } catch (err) {
      process.stderr.write(`logs-report: --html ${html}: could not be written (${err instanceof Error ? err.message : String(err)})\n`);
      return 1;
    }
  }
  process.stdout.write(args.values.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  return 0;
}

// A failed write may be reported before main() ends or after: either way its exit code 1 stands.
const stdout = watchStdout("logs-report");
const code = await main();
process.exitCode = stdout.failed ? 1 : code;
