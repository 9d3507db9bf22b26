// @ts-check
// A tool's output file, checked before the work that fills it: a mistyped folder
// found only by the write at the end cost the whole run (a minute of chaos cases,
// or a read of gigabytes of logs) and ended in a stack trace.
import { stat } from "node:fs/promises";
import path from "node:path";

/**
 * Why `file` cannot be written, or null when it looks writable. Only the two
 * mistakes a caller makes are named; anything else (permissions, a name too
 * long) is left to the write itself, which the tool reports in one line.
 * @param {string} file
 * @returns {Promise<"is a folder" | "its folder does not exist" | null>}
 */
export async function outFileProblem(file) {
  const found = await stat(file).catch((/** @type {NodeJS.ErrnoException} */ err) => err);
  if (!(found instanceof Error)) return found.isDirectory() ? "is a folder" : null;
  if (found.code !== "ENOENT") return null;
  const folder = await stat(path.dirname(file)).catch(() => null);
  return folder === null || !folder.isDirectory() ? "its folder does not exist" : null;
}
