#!/usr/bin/env node
// @ts-check
// `npm run scale-model`: the scale and cost model of docs/scale.md for one configuration.
// Bad input exits 2 with one line on stderr; no stack trace reaches the user, nor does a closed or full stdout.
import { parseArgs, usage, UsageError } from "./args.mjs";
import { monthlyCost } from "../model/cost.mjs";
import { formatReport } from "./format.mjs";
import { perDesign, scaleModel } from "../model/model.mjs";
import { watchStdout } from "../../lib/stdout-errors.mjs";

watchStdout("scale-model");

try {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(usage());
  } else {
    const model = scaleModel(args.inputs);
    const costs = perDesign((d) => monthlyCost(model, d, args.cpuMsPerRequest));
    process.stdout.write(args.json ? `${JSON.stringify({ ...model, cpuMsPerRequest: args.cpuMsPerRequest, costs }, null, 2)}\n` : formatReport(model, costs));
  }
} catch (err) {
  const usageError = err instanceof UsageError;
  process.stderr.write(`scale-model: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = usageError ? 2 : 1;
}
