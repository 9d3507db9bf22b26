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
 * The longest line read. A request event is tens of KiB at most (its schema bounds every field: the path at
 * 8,192 characters, at most 64 tries; src/core/events/request-event.ts), and a Logpush record holds one
 * invocation's lines, so no real line comes near. Without a limit, a line with no newline in it (a stray
 * binary file, a damaged member's output) was held in memory until it ended, and past V8's longest string
 * (about 512 MiB) its decoding threw and the rest of the file was lost.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * What a line over the limit is handed on as, in its place: not JSON, so the reader counts it with the
 * malformed lines, and still one line, so the lines gzip-members.mjs counts to skip stay in step.
 */
export const TOO_LONG = "(a line over MAX_LINE_BYTES, skipped)";

/**
 * @param {(line: string) => void} onLine  every line, without its `\n` (or `\r\n`); TOO_LONG for one over the limit
 * @param {number} [maxLineBytes]  the limit (tests give a small one)
 * @returns {{ push(chunk: Buffer): void, end(): void, pending(): Buffer | null, dropLine(): void }}
 *   pending: the bytes of a line whose end has not arrived yet, null when it is past the limit already
 *   (gzip-members.mjs starts a member over from them); dropLine: the line in progress is past the limit
 *   (what pending gave as null): its bytes up to its newline are dropped
 */
export function lineSplitter(onLine, maxLineBytes = MAX_LINE_BYTES) {
  /** The start of a line whose end has not arrived yet. @type {Buffer[]} */
  let pending = [];
  let pendingBytes = 0;
  /** The line in progress is past the limit: its bytes are dropped until its newline. */
  let skipping = false;
  // A slice decoded at once holds whole lines up to this long: any longer one is alone in its slice, and measured there.
  const window = Math.min(DECODE_BYTES, maxLineBytes);
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

  /** Keeps `chunk` from `start` on, the start of a line, unless the line is past the limit. @param {Buffer} chunk @param {number} start */
  const keep = (chunk, start) => {
    if (skipping) return;
    pendingBytes += chunk.length - start;
    if (pendingBytes > maxLineBytes) {
      pending = [];
      skipping = true;
      return;
    }
    // Copied: the stream may hand out slices of a buffer it goes on to fill.
    pending.push(Buffer.from(chunk.subarray(start)));
  };

  return {
    push(chunk) {
      let start = 0;
      if (skipping || pending.length > 0) {
        const nl = chunk.indexOf(10);
        if (nl === -1) {
          keep(chunk, 0);
          return;
        }
        if (skipping || pendingBytes + nl > maxLineBytes) emit(TOO_LONG);
        else {
          pending.push(chunk.subarray(0, nl));
          lines(Buffer.concat(pending).toString("utf8"));
        }
        pending = [];
        pendingBytes = 0;
        skipping = false;
        start = nl + 1;
      }
      while (start < chunk.length) {
        // The last newline within the next window, or (a line longer than that) the first one after.
        let nl = chunk.lastIndexOf(10, Math.min(chunk.length - 1, start + window));
        if (nl < start) nl = chunk.indexOf(10, start);
        if (nl === -1) {
          keep(chunk, start);
          return;
        }
        if (nl - start > maxLineBytes) emit(TOO_LONG);
        else lines(chunk.toString("utf8", start, nl));
        start = nl + 1;
      }
    },
    end() {
      if (skipping) emit(TOO_LONG);
      else if (pending.length > 0) lines(Buffer.concat(pending).toString("utf8"));
      pending = [];
      pendingBytes = 0;
      skipping = false;
    },
    pending() {
      return skipping ? null : Buffer.concat(pending);
    },
    dropLine() {
      pending = [];
      pendingBytes = 0;
      skipping = true;
    },
  };
}
