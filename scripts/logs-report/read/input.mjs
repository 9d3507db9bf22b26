// @ts-check
// Finding the input files and reading them line by line, gzipped or not.
import { createReadStream } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { finished } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { readMembers } from "./gzip-members.mjs";
import { lineSplitter } from "./lines.mjs";
import { spool } from "./spool.mjs";

/** File names read from a folder: Logpush's `.log.gz`, plain or gzipped NDJSON. Other files in a folder are left alone. */
const LOG_FILE = /\.(log|ndjson|jsonl|json|txt)(\.gz)?$|\.gz$/i;

/**
 * Every file the arguments name: a file as is (whatever its name), a folder
 * recursively (its log files only, in name order, which for Logpush's
 * `YYYYMMDD/<start>_<end>_…` names is time order). `-` is standard input.
 * A file reached twice (named twice, named and inside a named folder, or by a
 * link) is read once, where it first came: read twice, each of its requests
 * counted twice. Known by device and inode, from the stat each file gets anyway.
 * @param {string[]} args
 * @param {(folder: string, otherFiles: number) => void} [onNoLogFile]  told of each named folder that held no
 *   log file (say, only rotated `mesh.log.1` files), which would otherwise add nothing to the report without a word
 * @returns {Promise<{ path: string, bytes: number }[]>}
 */
export async function findInputs(args, onNoLogFile) {
  /** @type {{ path: string, bytes: number }[]} */
  const out = [];
  /** `dev:ino` of every file taken, and "-" once standard input is. @type {Set<string>} */
  const seen = new Set();
  /** @param {string} p @param {{ dev: number, ino: number, size: number }} s */
  const take = (p, s) => {
    const id = `${s.dev}:${s.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ path: p, bytes: s.size });
  };
  for (const arg of args) {
    if (arg === "-") {
      // Standard input ends after its first read: a second '-' would only count one more empty file.
      // Its size is unknown until it ends: 0 here, and progress counts it as it comes (progressMeter).
      if (!seen.has("-")) out.push({ path: "-", bytes: 0 });
      seen.add("-");
      continue;
    }
    const s = await stat(arg);
    if (s.isDirectory()) {
      const found = await walk(arg, take);
      if (found.logFiles === 0) onNoLogFile?.(arg, found.otherFiles);
    } else take(arg, s);
  }
  return out;
}

/**
 * @param {string} dir
 * @param {(p: string, s: { dev: number, ino: number, size: number }) => void} take
 * @returns {Promise<{ logFiles: number, otherFiles: number }>} found below `dir`: log files, and the other entries
 *   that are not folders (links are not followed, as `grep -r` does not)
 */
async function walk(dir, take) {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found = { logFiles: 0, otherFiles: 0 };
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const below = await walk(p, take);
      found.logFiles += below.logFiles;
      found.otherFiles += below.otherFiles;
    } else if (e.isFile() && LOG_FILE.test(e.name)) {
      found.logFiles++;
      take(p, await stat(p));
    } else found.otherFiles++;
  }
  return found;
}

/**
 * Gzip is recognised by its magic bytes, not the name: an R2 export or a
 * renamed file may say `.log` and hold gzip, or the reverse.
 * @param {string} file
 * @returns {Promise<number | null>} the file's size when it is gzip, else null
 */
async function gzipSize(file) {
  const fh = await open(file, "r");
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b ? (await fh.stat()).size : null;
  } finally {
    await fh.close();
  }
}

/**
 * Gunzip's output chunk. Node's default (16 KiB) costs more in stream
 * bookkeeping per chunk than inflating it: at 256 KiB the same files inflate
 * in a fifth of the CPU time, and at 1 MiB in about a third less again (0.55
 * to 1.0 against 0.46 to 0.67 µs per event, `logs:bench`'s input, shared
 * machine); 2 MiB gained nothing more.
 */
const GUNZIP_CHUNK = 1024 * 1024;

/** @typedef {import("./gzip-members.mjs").Damage} Damage */

/**
 * Calls `onLine` for every line of `file` (without its newline), and
 * `onBytes` with the raw (compressed) bytes as they are read, for progress.
 * Lines are cut from the bytes (lines.mjs), not through readline or a string
 * decoder, which cost about as much again per line at the rates the bench asks for.
 * A gzip file that gunzip cannot read to its end (a damaged or cut member, bytes
 * after a member that are none, zero padding) is read again member by member
 * (gzip-members.mjs), for the lines gunzip lost, each still delivered once; so is
 * gzip on standard input, from a copy kept as it is read (spool.mjs).
 * @param {string} file  `-` for standard input
 * @param {(line: string) => void} onLine
 * @param {(n: number) => void} onBytes
 * @param {import("node:stream").Readable} [stdin]  what `-` reads (tests hand in a stream of their own)
 * @returns {Promise<Damage | null>} null, or why the file could not be read whole and how much of it
 *   (damaged gzip members and their bytes; 0 and 0 for a plain file that failed to read)
 */
export async function readLines(file, onLine, onBytes, stdin = process.stdin) {
  if (file !== "-") {
    // Sniffed before the stream exists: a data listener starts the flow, and chunks read during an await would be lost.
    const size = await gzipSize(file);
    const raw = createReadStream(file, { highWaterMark: 1 << 20 });
    return readStream(raw, size === null ? null : { file, size }, null, onLine, onBytes);
  }
  // Standard input is sniffed by its first bytes, put back before anything reads on (a Logpush object piped from R2 is gzip).
  if (!(await startsWithGzip(stdin))) return readStream(stdin, null, null, onLine, onBytes);
  const copy = spool();
  try {
    return await readStream(stdin, { file: copy.path, size: null }, copy, onLine, onBytes);
  } finally {
    copy.remove();
  }
}

/**
 * @param {import("node:stream").Readable} raw
 * @param {{ file: string, size: number | null } | null} gzip  null for plain text; else the file to read again
 *   member by member, and its size (null for standard input's copy: known once the input ends)
 * @param {ReturnType<typeof spool> | null} copy  where standard input's bytes are kept as they are read
 * @param {(line: string) => void} onLine
 * @param {(n: number) => void} onBytes
 * @returns {Promise<Damage | null>}
 */
async function readStream(raw, gzip, copy, onLine, onBytes) {
  let read = 0;
  raw.on("data", (/** @type {Buffer} */ chunk) => {
    read += chunk.length;
    copy?.write(chunk);
    onBytes(chunk.length);
  });
  const gunzip = gzip === null ? null : raw.pipe(createGunzip({ chunkSize: GUNZIP_CHUNK }));
  if (gunzip !== null) raw.on("error", (/** @type {Error} */ err) => gunzip.destroy(err));
  // Counted for gzip only: the member-by-member reading after a failure delivers from there on.
  let delivered = 0;
  const splitter = lineSplitter(
    gunzip === null
      ? onLine
      : (line) => {
          delivered++;
          onLine(line);
        },
  );
  /** @type {string | null} */
  let error = null;
  try {
    for await (const chunk of gunzip ?? raw) splitter.push(/** @type {Buffer} */ (chunk));
  } catch (err) {
    error = message(err);
  }
  if (gunzip !== null && copy !== null) {
    // Gunzip stops taking a pipe at an error or at zero padding, which it takes for the end: the rest goes
    // into the copy, so that what gunzip read is measured against the whole input and the rest read from the copy.
    raw.unpipe(gunzip);
    raw.resume();
    await finished(raw).catch((/** @type {unknown} */ err) => {
      error ??= message(err);
    });
  }
  const size = gzip?.size ?? read;
  if (gzip !== null && gunzip !== null && (error !== null || gunzip.bytesWritten < size)) {
    raw.destroy();
    const why = error ?? "gzip stopped early";
    const copyFailed = copy?.failed() ?? null;
    // Without its whole copy, standard input cannot be read again: what gunzip gave stands, its cut last line dropped.
    if (copyFailed !== null) return { error: `${why}; standard input could not be kept to read it member by member: ${copyFailed}`, damagedMembers: 0, damagedBytes: 0 };
    // The partial last line gunzip gave is not delivered here: read on, its member completes it or drops it.
    const damage = await readMembers(gzip.file, delivered, onLine).catch((/** @type {unknown} */ err) => ({
      error: `${why}; reading it member by member failed too: ${message(err)}`,
      damagedMembers: 0,
      damagedBytes: 0,
    }));
    if (size > read) onBytes(size - read);
    return damage;
  }
  if (error !== null) {
    // The partial last line of a cut stream is dropped, not parsed as a malformed one.
    raw.destroy();
    return { error, damagedMembers: 0, damagedBytes: 0 };
  }
  splitter.end();
  return null;
}

/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));

/**
 * Whether a stream starts with gzip's magic bytes (1f 8b). Its first two bytes
 * are read in paused mode and put back with unshift, so the reader that
 * follows gets every byte; an empty stream is not gzip. read(2) waits for two
 * bytes (or the end): a pipe may hand out a first chunk of one byte.
 * @param {import("node:stream").Readable} stream  a byte stream, as process.stdin is (read(2) in object mode
 *   would return a whole chunk, however short)
 * @returns {Promise<boolean>}
 */
function startsWithGzip(stream) {
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    const onReadable = () => {
      // Null until two bytes are buffered or the stream ends (then what there is: 0 or 1 bytes, or null and 'end').
      const head = /** @type {Buffer | null} */ (stream.read(2));
      if (head === null) return;
      done();
      stream.unshift(head);
      resolve(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
    };
    const onEnd = () => {
      done();
      resolve(false);
    };
    const onError = (/** @type {Error} */ err) => {
      done();
      reject(err);
    };
    stream.on("readable", onReadable);
    stream.on("end", onEnd);
    stream.on("error", onError);
  });
}

/** @param {number} bytes */
const mib = (bytes) => (bytes / 1048576).toFixed(1);

/**
 * Progress for inputs over `threshold` bytes, at most once a second: bytes
 * read, events so far and the rate. Nothing for small inputs. With a known
 * total (files: their sizes) the line gives the share read of it, and whether
 * to show any is known up front. Standard input has no size until it ends
 * (`totalBytes` null, even beside files), so the line gives the bytes read so
 * far, from the moment they pass the threshold. On stderr: stdout carries the
 * report, which --json must keep parseable.
 * @param {number | null} totalBytes  null when not known
 * @param {{ threshold?: number, stream?: { isTTY?: boolean, write(s: string): unknown }, now?: () => number }} [opts]
 */
export function progressMeter(totalBytes, { threshold = 32 * 1024 * 1024, stream = process.stderr, now = Date.now } = {}) {
  let on = totalBytes !== null && totalBytes >= threshold;
  let shown = false;
  const started = now();
  let last = started;
  let bytes = 0;
  return {
    /** @param {number} n */
    addBytes(n) {
      bytes += n;
      if (totalBytes === null && bytes >= threshold) on = true;
    },
    /** @param {number} events */
    tick(events) {
      if (!on) return;
      const t = now();
      if (t - last < 1000) return;
      last = t;
      const rate = Math.round(events / Math.max(0.001, (t - started) / 1000));
      const read =
        totalBytes === null
          ? `${mib(bytes)} MiB read`
          : `${totalBytes > 0 ? Math.min(100, (100 * bytes) / totalBytes).toFixed(1) : "?"}% of ${mib(totalBytes)} MiB`;
      const line = `logs-report: ${read}, ${events} events, ${rate} events/s`;
      stream.write(stream.isTTY ? `\r${line}` : `${line}\n`);
      shown = true;
    },
    done() {
      // Ends the line a terminal's \r kept rewriting; nothing to end if none was written.
      if (shown && stream.isTTY) stream.write("\n");
    },
  };
}
