// @ts-check
// A damaged gzip file read again, member by member (RFC 1952), for the lines
// Node's gunzip loses. Gunzip stops at the first damaged member and drops what
// its last step had decoded (up to a 1 MiB output chunk: every line of a small
// file), stops without a word at zero bytes after a member, and reads none of
// the members after either. Here each member is inflated on its own, so its
// start and end are known: an intact member is read whole, a damaged one up to
// its damage (the step that failed is done again a byte at a time, since zlib
// hands out nothing of a step that fails), and reading goes on at the next
// member header after the damaged one's start. That header may lie inside what
// was read as the damaged member: a member cut short, then another, is inflated
// as one, the second one's header as data.
//
// Only a file the fast pass (input.mjs) could not read to its end comes here, or
// the copy of standard input kept while it was read (spool.mjs).
import { open } from "node:fs/promises";
import * as zlib from "node:zlib";
import { lineSplitter } from "./lines.mjs";

/** Compressed bytes inflated per step: a failed step is done again byte by byte, at most this many writes. */
const PIECE = 16 * 1024;
/** A member header longer than this (a file name or comment past 64 KiB) is not taken for one. */
const HEADER_MAX = 64 * 1024;
/** Bytes looked at per read when searching for the next member. */
const SCAN = 1024 * 1024;

/** In Node from 20.15 and 22.2; without it a member's length is still checked, not its CRC. */
const crc32 = typeof zlib.crc32 === "function" ? zlib.crc32 : null;

/** @typedef {import("node:fs/promises").FileHandle} FileHandle */
/** @typedef {{ error: string, damagedMembers: number, damagedBytes: number }} Damage */

/** @param {FileHandle} fh @param {number} at @param {number} length */
async function bytesAt(fh, at, length) {
  const b = Buffer.allocUnsafe(length);
  const { bytesRead } = await fh.read(b, 0, length, at);
  return b.subarray(0, bytesRead);
}

/**
 * The length of the member header `b` starts with, or null when it starts with none. `strict` asks
 * more than zlib does (the extra flags and OS byte a writer sets), for a header searched for among
 * damaged bytes, where a chance 1f 8b 08 must not be taken for a member (about 1 in 10^11 then is).
 * @param {Buffer} b
 * @param {boolean} strict
 */
function headerLength(b, strict) {
  if (b.length < 10 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8) return null;
  const flags = b[3] ?? 0xff;
  if ((flags & 0xe0) !== 0) return null;
  const xfl = b[8] ?? -1;
  const os = b[9] ?? -1;
  if (strict && ((xfl !== 0 && xfl !== 2 && xfl !== 4) || (os > 13 && os !== 255))) return null;
  let at = 10;
  if ((flags & 4) !== 0) at = b.length < 12 ? Infinity : 12 + b.readUInt16LE(10);
  // FNAME, then FCOMMENT: each ends at a zero byte.
  for (const bit of [8, 16]) {
    if ((flags & bit) === 0 || at >= b.length) continue;
    const nul = b.indexOf(0, at);
    at = nul === -1 ? Infinity : nul + 1;
  }
  if ((flags & 2) !== 0) at += 2;
  return at <= b.length ? at : null;
}

/** The first byte from `at` on that is not zero (a writer may pad a file with zeros), or `end`. @param {FileHandle} fh @param {number} at @param {number} end */
async function afterZeros(fh, at, end) {
  for (let from = at; from < end; from += SCAN) {
    const b = await bytesAt(fh, from, Math.min(SCAN, end - from));
    const i = b.findIndex((x) => x !== 0);
    if (i !== -1) return from + i;
  }
  return end;
}

/** Where the next member header (strictly read) starts, from `from` on, or `end`. @param {FileHandle} fh @param {number} from @param {number} end */
async function nextMember(fh, from, end) {
  for (let at = from; at < end; at += SCAN) {
    // HEADER_MAX more than is searched, so a header that starts near the end is read whole.
    const b = await bytesAt(fh, at, Math.min(SCAN + HEADER_MAX, end - at));
    for (let i = b.indexOf(0x1f); i !== -1 && i < SCAN; i = b.indexOf(0x1f, i + 1)) {
      if (headerLength(b.subarray(i), true) !== null) return at + i;
    }
  }
  return end;
}

/**
 * Inflates the deflate data at `at` until it ends, fails, or the file does, each output chunk to `onData`:
 * in steps of PIECE bytes, and of one byte from `fineFrom` on.
 * @param {FileHandle} fh @param {number} at @param {number} end @param {number} fineFrom
 * @param {(chunk: Buffer) => void} onData
 * @returns {Promise<{ length: number, crc: number, size: number, error: string | null, failedAt: number }>}
 *   length: the deflate data's (its trailer follows); crc and size: its output's; failedAt: where the failed step began
 */
async function inflateAt(fh, at, end, fineFrom, onData) {
  const inflater = zlib.createInflateRaw({ chunkSize: PIECE });
  const out = { crc: 0, size: 0, error: /** @type {string | null} */ (null) };
  inflater.on("data", (/** @type {Buffer} */ chunk) => {
    if (crc32 !== null) out.crc = crc32(chunk, out.crc);
    out.size += chunk.length;
    onData(chunk);
  });
  const done = new Promise((resolve) => {
    inflater.once("end", resolve);
    inflater.once("error", (err) => {
      out.error = err.message;
      resolve(undefined);
    });
  });
  try {
    for (let written = 0; out.error === null; ) {
      const from = at + written;
      const piece = from >= end ? null : await bytesAt(fh, from, from >= fineFrom ? 1 : Math.min(PIECE, fineFrom - from, end - from));
      if (piece === null || piece.length === 0) {
        inflater.end(); // the file ends: an error if the deflate data has not
        break;
      }
      // A failed step never calls back: the error ends the wait.
      await Promise.race([new Promise((resolve) => inflater.write(piece, resolve)), done]);
      written += piece.length;
      if (inflater.bytesWritten < written) break; // the deflate data ended inside this step
    }
    await done;
  } finally {
    inflater.destroy();
  }
  return { length: inflater.bytesWritten, crc: out.crc, size: out.size, error: out.error, failedAt: at + inflater.bytesWritten };
}

/**
 * Lines out of the members' output, as one stream across intact members (a line may span two, as
 * gunzip reads them), each delivered once however often its member is read.
 * @param {number} seen  lines delivered before: not delivered again
 * @param {(line: string) => void} onLine
 */
function lineSink(seen, onLine) {
  let index = 0;
  const emit = (/** @type {string} */ line) => {
    if (index++ < seen) return;
    seen = index;
    onLine(line);
  };
  let splitter = lineSplitter(emit);
  /** carry: the bytes of the line in progress at the mark, null when it was past the length limit. @type {{ index: number, carry: Buffer | null }} */
  let mark = { index: 0, carry: Buffer.alloc(0) };
  return {
    /** @param {Buffer} chunk */
    push: (chunk) => splitter.push(chunk),
    /** At a member's start: where to read it again from. */
    mark() {
      mark = { index, carry: splitter.pending() };
    },
    /** Back to the marked member's start. */
    rewind() {
      index = mark.index;
      splitter = lineSplitter(emit);
      if (mark.carry === null) splitter.dropLine();
      else splitter.push(mark.carry);
    },
    /** At damage: the line it cut off is dropped. */
    cut() {
      splitter = lineSplitter(emit);
    },
    end: () => splitter.end(),
  };
}

/**
 * One member, from its deflate data at `at` (its header read): its lines to `lines`.
 * @param {FileHandle} fh @param {number} at @param {number} end @param {ReturnType<typeof lineSink>} lines
 * @returns {Promise<{ error: string, next?: undefined } | { error: null, next: number }>} next: where the member ends
 */
async function member(fh, at, end, lines) {
  lines.mark();
  let r = await inflateAt(fh, at, end, Infinity, lines.push);
  if (r.error !== null && r.failedAt < end) {
    lines.rewind();
    r = await inflateAt(fh, at, end, r.failedAt, lines.push);
  }
  if (r.error !== null) return { error: r.error };
  const trailer = await bytesAt(fh, at + r.length, 8);
  if (trailer.length < 8) return { error: "unexpected end of file" };
  // The same words as zlib's for the same faults.
  if (trailer.readUInt32LE(4) !== r.size >>> 0) return { error: "incorrect length check" };
  if (crc32 !== null && trailer.readUInt32LE(0) !== r.crc >>> 0) return { error: "incorrect data check" };
  return { error: null, next: at + r.length + 8 };
}

/**
 * Every line of the gzip file `file` that can be decoded, after the first `seen` (delivered already),
 * and what could not: how many damaged members (a stretch of bytes between members that is none
 * counts as one), and their bytes, from each one's start to the next member's. Zero padding between
 * or after members is no damage.
 * @param {string} file
 * @param {number} seen
 * @param {(line: string) => void} onLine
 * @returns {Promise<Damage | null>} null when nothing was damaged
 */
export async function readMembers(file, seen, onLine) {
  const fh = await open(file, "r");
  try {
    const end = (await fh.stat()).size;
    const lines = lineSink(seen, onLine);
    /** @type {Damage} */
    const damage = { error: "", damagedMembers: 0, damagedBytes: 0 };
    let at = 0;
    while (at < end) {
      const head = await bytesAt(fh, at, Math.min(HEADER_MAX, end - at));
      if (head[0] === 0) {
        at = await afterZeros(fh, at, end);
        continue;
      }
      const length = headerLength(head, false);
      const read = length === null ? { error: "bytes that are no gzip member" } : await member(fh, at + length, end, lines);
      if (read.next !== undefined) {
        at = read.next;
        continue;
      }
      const next = await nextMember(fh, at + 1, end);
      damage.damagedMembers++;
      damage.damagedBytes += next - at;
      if (damage.error === "") damage.error = read.error;
      lines.cut();
      at = next;
    }
    lines.end();
    return damage.damagedMembers === 0 ? null : damage;
  } finally {
    await fh.close();
  }
}
