import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lineSplitter, TOO_LONG } from "../../../scripts/logs-report/read/lines.mjs";

/** The lines of `text` as the reader promises them: split on `\n`, a `\r` at the end of each dropped, nothing after a last `\n`. */
function expected(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}

/** Feeds `bytes` to a splitter (with a line limit of `maxLineBytes`, when given) cut at the given offsets. */
function split(bytes: Buffer, cuts: number[], maxLineBytes?: number): string[] {
  const out: string[] = [];
  const s = lineSplitter((line) => out.push(line), maxLineBytes);
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    s.push(bytes.subarray(at, cut));
    at = cut;
  }
  s.push(bytes.subarray(at));
  s.end();
  return out;
}

describe("lineSplitter", () => {
  it("gives the same lines wherever the chunks are cut, through multi-byte characters and CRLF", () => {
    const line = fc.string({ unit: fc.constantFrom("a", "é", "€", "😀", "\r", '"', "\\"), maxLength: 40 });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), (lines, trailing, offsets) => {
        const text = lines.join("\n") + (trailing ? "\n" : "");
        const bytes = Buffer.from(text);
        expect(split(bytes, offsets.map((o) => o % (bytes.length + 1)))).toEqual(expected(text));
      }),
    );
  });

  it("drops a UTF-8 byte order mark at the start of the input, wherever the chunks are cut, and only there", () => {
    const text = '\ufeff{"event":"request"}\n\ufeffsecond\n';
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(split(bytes, [cut])).toEqual(['{"event":"request"}', "\ufeffsecond"]);
    }
  });

  it("reads lines longer than its decode window, and many short ones in one chunk", () => {
    const long = "x".repeat(200_000) + "€";
    const short = Array.from({ length: 20_000 }, (_, i) => `line ${i}`);
    const text = [long, ...short, long].join("\r\n");
    expect(split(Buffer.from(text), [])).toEqual(expected(text));
    expect(split(Buffer.from(text), [100_000, 200_001, 250_000])).toEqual(expected(text));
  });

  it("delivers a last line without a newline only at the end", () => {
    const out: string[] = [];
    const s = lineSplitter((line) => out.push(line));
    s.push(Buffer.from("a\nb"));
    expect(out).toEqual(["a"]);
    s.end();
    expect(out).toEqual(["a", "b"]);
  });

  it("hands on each line over its limit as TOO_LONG, wherever the chunks are cut, and the lines around it as they are", () => {
    const limit = 12;
    const line = fc.string({ unit: fc.constantFrom("a", "é", "€", "\r"), maxLength: 20 });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 10 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), (lines, trailing, offsets) => {
        const text = lines.join("\n") + (trailing ? "\n" : "");
        const bytes = Buffer.from(text);
        const raw = text.split("\n");
        if (raw[raw.length - 1] === "") raw.pop();
        // The limit counts a line's bytes before its \n, a \r included.
        const want = raw.map((l) => (Buffer.byteLength(l) > limit ? TOO_LONG : l.endsWith("\r") ? l.slice(0, -1) : l));
        expect(split(bytes, offsets.map((o) => o % (bytes.length + 1)), limit)).toEqual(want);
      }),
    );
  });

  it("gives no bytes for a line past its limit, and a splitter told to drop it skips to its end (gzip-members.mjs reading a member again)", () => {
    const first = lineSplitter(() => undefined, 10);
    first.push(Buffer.from("0123456789ab"));
    expect(first.pending()).toBeNull();
    const out: string[] = [];
    const again = lineSplitter((line) => out.push(line), 10);
    again.dropLine();
    again.push(Buffer.from("cd\nnext\n"));
    expect(out).toEqual([TOO_LONG, "next"]);
  });
});
