// @ts-check
// Bytes in, lines out: the splitter between gunzip and the parser.
//
// Decoding is done on whole lines only, in slices of about DECODE_BYTES
// ending at a newline: a newline byte is never inside a multi-byte UTF-8
// character, so no character is cut, and V8 decodes a slice this size several
// times faster per byte than a 256 KiB one (which lands in large-object space).

/** Bytes decoded to text at once. */
const DECODE_BYTES = 64 * 1024;

/**
 * @param {(line: string) => void} onLine  every line, without its `\n` (or `\r\n`)
 * @returns {{ push(chunk: Buffer): void, end(): void, pending(): Buffer }}
 *   pending: the bytes of a line whose end has not arrived yet (gzip-members.mjs starts a member over from them)
 */
export function lineSplitter(onLine) {
  /** The start of a line whose end has not arrived yet. @type {Buffer[]} */
  let pending = [];
  /** Until the first line is out: a byte order mark before it (editors on Windows write one) is not part of it. */
  let first = true;
  /** @param {string} line */
  const emit = (line) => {
    if (first) {
      first = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    onLine(line);
  };

  /** Every line of `text`, which ends where a line ends (its last newline already cut off). @param {string} text */
  const lines = (text) => {
    let start = 0;
    let nl = text.indexOf("\n");
    for (;;) {
      const end = nl === -1 ? text.length : nl;
      emit(end > start && text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end));
      if (nl === -1) return;
      start = nl + 1;
      nl = text.indexOf("\n", start);
    }
  };

  return {
    push(chunk) {
      let start = 0;
      if (pending.length > 0) {
        const nl = chunk.indexOf(10);
        if (nl === -1) {
          pending.push(chunk);
          return;
        }
        pending.push(chunk.subarray(0, nl));
        lines(Buffer.concat(pending).toString("utf8"));
        pending = [];
        start = nl + 1;
      }
      while (start < chunk.length) {
        // The last newline within the next DECODE_BYTES, or (a line longer than that) the first one after.
        let nl = chunk.lastIndexOf(10, Math.min(chunk.length - 1, start + DECODE_BYTES));
        if (nl < start) nl = chunk.indexOf(10, start);
        if (nl === -1) {
          // Copied: the stream may hand out slices of a buffer it goes on to fill.
          pending.push(Buffer.from(chunk.subarray(start)));
          return;
        }
        lines(chunk.toString("utf8", start, nl));
        start = nl + 1;
      }
    },
    end() {
      if (pending.length > 0) lines(Buffer.concat(pending).toString("utf8"));
      pending = [];
    },
    pending() {
      return Buffer.concat(pending);
    },
  };
}
