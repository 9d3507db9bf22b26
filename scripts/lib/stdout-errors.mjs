// @ts-check
// What a command-line tool does when its standard output fails. Node's default is
// an unhandled 'error' event: a stack trace on stderr, for nothing worse than
// `… | head` or `… | true` closing the pipe.

/**
 * A closed pipe (EPIPE) ends the output quietly: the reader that went away wants
 * no more. Any other failure (a full disk) is one line on stderr and exit code 1.
 * @param {string} tool  the prefix of the tool's one-line errors
 * @param {NodeJS.WriteStream} [stream]
 * @returns {{ readonly failed: boolean }} whether a write has failed, for a tool that sets its exit code last
 */
export function watchStdout(tool, stream = process.stdout) {
  let failed = false;
  stream.on("error", (/** @type {NodeJS.ErrnoException} */ err) => {
    if (err.code === "EPIPE") return;
    process.stderr.write(`${tool}: could not write the report (${err.message})\n`);
    failed = true;
    process.exitCode = 1;
  });
  return {
    get failed() {
      return failed;
    },
  };
}
