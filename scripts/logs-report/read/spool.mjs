// @ts-check
// Standard input's gzip, kept in a temporary file as it is read. Gunzip stops
// at the first damaged member and at zero padding, and drops what its last
// step decoded (gzip-members.mjs); a file is then read again member by member
// from disk, and a pipe can only be read again from a copy. The copy is made
// while the stream is read, not before, so progress and the events come as the
// bytes do (a Logpush object piped from R2 may take minutes to arrive).
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** The signals that end the process with the copy still on disk unless it is removed first. */
const SIGNALS = /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"]);

/**
 * A new temporary file in its own folder (mkdtemp: mode 0700, since logs may name clients), removed by
 * `remove()`, at exit, or on SIGINT, SIGTERM and SIGHUP (a closed terminal), which are then raised again
 * so the process still ends by them: a copy of gigabytes of logs must not be left in the temporary folder by a Ctrl-C.
 * @returns {{ path: string, write(chunk: Buffer): void, failed(): string | null, remove(): void }}
 *   neither it nor write throws: a copy that could not be made or written (no temporary folder, a full disk)
 *   ends there, and `failed` says why
 */
export function spool() {
  /** @type {string | null} */
  let dir = null;
  /** @type {number | null} */
  let fd = null;
  /** @type {string | null} */
  let failure = null;
  const close = () => {
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  const remove = () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    process.off("exit", remove);
    close();
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  };
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    remove();
    process.kill(process.pid, signal);
  };
  // Before the folder exists: a signal that came between the two, with no listener yet, would end the process there.
  for (const signal of SIGNALS) process.once(signal, onSignal);
  process.once("exit", remove);
  let file = "";
  try {
    dir = mkdtempSync(path.join(tmpdir(), "logs-report-stdin-"));
    file = path.join(dir, "stdin.gz");
    fd = openSync(file, "w", 0o600);
  } catch (err) {
    // No place for a copy (a read-only temporary folder): the input is still read, only not read again.
    failure = err instanceof Error ? err.message : String(err);
  }
  return {
    path: file,
    write(chunk) {
      if (fd === null) return;
      try {
        // writeSync may write less than asked: on until the chunk is all out.
        for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
        close();
      }
    },
    failed: () => failure,
    remove,
  };
}
