// @ts-check
// A minimal HTTP/1.1 message reader over raw bytes, enough for the fault origins
// (requests) and the abusive clients (responses) to see exactly what crossed the
// socket: heads, Content-Length or chunked bodies, and where a message stopped.

/**
 * @typedef {{ startLine: string, headers: Map<string, string>, headBytes: number }} Head
 */

/**
 * Parses one message head at the start of `buf`, or null while it is incomplete.
 * Header names are lowercased; repeated headers are joined with ", ".
 * @param {Buffer} buf
 * @returns {Head | null}
 */
export function parseHead(buf) {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const startLine = lines.shift() ?? "";
  /** @type {Map<string, string>} */
  const headers = new Map();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prior = headers.get(name);
    headers.set(name, prior === undefined ? value : `${prior}, ${value}`);
  }
  return { startLine, headers, headBytes: end + 4 };
}

/**
 * Reads a body framed by `headers` from `buf` (which starts after the head).
 * Returns the body and the bytes it used, or null while it is incomplete.
 * With `untilClose`, an unframed body is everything (callers pass it once the socket closed).
 * @param {Map<string, string>} headers
 * @param {Buffer} buf
 * @param {{ untilClose: boolean }} opts
 * @returns {{ body: Buffer, used: number } | null}
 */
export function readBody(headers, buf, { untilClose }) {
  const te = headers.get("transfer-encoding");
  if (te !== undefined && /chunked/i.test(te)) {
    /** @type {Buffer[]} */
    const parts = [];
    let at = 0;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", at);
      if (lineEnd < 0) return null;
      const size = Number.parseInt(buf.subarray(at, lineEnd).toString("latin1"), 16);
      if (!Number.isFinite(size)) return null;
      const dataStart = lineEnd + 2;
      if (size === 0) {
        // No trailers are sent by anything in this harness: the last chunk ends with one CRLF.
        if (buf.length < dataStart + 2) return null;
        return { body: Buffer.concat(parts), used: dataStart + 2 };
      }
      if (buf.length < dataStart + size + 2) return null;
      parts.push(buf.subarray(dataStart, dataStart + size));
      at = dataStart + size + 2;
    }
  }
  const cl = headers.get("content-length");
  if (cl !== undefined) {
    const n = Number(cl);
    if (!Number.isInteger(n) || n < 0) return null;
    if (buf.length < n) return null;
    return { body: buf.subarray(0, n), used: n };
  }
  return untilClose ? { body: buf, used: buf.length } : { body: Buffer.alloc(0), used: 0 };
}

/**
 * Every response in bytes read from one connection (interim 1xx answers, the
 * final one, and any extra a desynchronised server sent). The last one may be
 * cut short: `complete` says whether its framing was satisfied.
 * @param {Buffer} buf
 * @param {{ headRequest?: boolean }} [opts]
 * @returns {{ status: number, headers: Map<string, string>, body: Buffer, complete: boolean }[]}
 */
export function parseResponses(buf, { headRequest = false } = {}) {
  const out = [];
  let rest = buf;
  while (rest.length > 0) {
    const head = parseHead(rest);
    if (head === null) break;
    const status = Number(head.startLine.split(" ")[1]);
    const after = rest.subarray(head.headBytes);
    if ((status >= 100 && status < 200) || status === 204 || status === 304 || headRequest) {
      out.push({ status, headers: head.headers, body: Buffer.alloc(0), complete: true });
      rest = after;
      continue;
    }
    const framed = readBody(head.headers, after, { untilClose: false });
    const unframed = !head.headers.has("content-length") && !head.headers.has("transfer-encoding");
    if (framed === null || unframed) {
      out.push({ status, headers: head.headers, body: after, complete: unframed });
      break;
    }
    out.push({ status, headers: head.headers, body: framed.body, complete: true });
    rest = after.subarray(framed.used);
  }
  return out;
}
