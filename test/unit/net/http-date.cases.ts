/**
 * One table of HTTP-dates and Retry-After values, run against both readers:
 * the edge's (src/core/net/http-date.ts, src/core/flow/retry-after.ts) and
 * the registration client's copy (scripts/lib/http-date.mjs,
 * scripts/lib/start-retry.mjs), which node runs as plain .mjs and so cannot
 * import the TypeScript. A case added here is a case for both.
 *
 * NOW is a Tuesday; every accepted date names its real weekday.
 */
export const NOW = Date.parse("2026-12-01T00:00:00Z");

const at = (iso: string): number => Date.parse(iso);

/** [text, the instant it names, or null when it is no HTTP-date]. */
export const HTTP_DATE_CASES: readonly (readonly [string, number | null])[] = [
  // The three forms (RFC 9110 §5.6.7), its own example in each.
  ["Sun, 06 Nov 1994 08:49:37 GMT", at("1994-11-06T08:49:37Z")],
  ["Sunday, 06-Nov-94 08:49:37 GMT", at("1994-11-06T08:49:37Z")],
  ["Sun Nov  6 08:49:37 1994", at("1994-11-06T08:49:37Z")],
  ["Tue, 01 Dec 2026 00:00:05 GMT", at("2026-12-01T00:00:05Z")],
  ["Tuesday, 01-Dec-26 00:00:05 GMT", at("2026-12-01T00:00:05Z")],
  ["Tue Dec  1 00:00:05 2026", at("2026-12-01T00:00:05Z")],
  // asctime's day is 2DIGIT or SP DIGIT.
  ["Tue Dec 01 00:00:05 2026", at("2026-12-01T00:00:05Z")],
  ["Tue, 29 Feb 2028 12:00:00 GMT", at("2028-02-29T12:00:00Z")],
  // A leap second (RFC 5322 §3.3) is the next minute's first, into the next year if it must.
  ["Tue, 01 Dec 2026 00:00:60 GMT", at("2026-12-01T00:01:00Z")],
  ["Thu, 31 Dec 2026 23:59:60 GMT", at("2027-01-01T00:00:00Z")],
  ["Fri, 31 Dec 9999 23:59:59 GMT", at("9999-12-31T23:59:59Z")],
  ["Thu, 01 Jan 1970 00:00:00 GMT", 0],
  // Year 0000 is year 0, not 1900 (Date.UTC's reading of 0–99).
  ["Sat, 01 Jan 0000 00:00:00 GMT", at("0000-01-01T00:00:00Z")],
  // rfc850's two-digit year: one more than 50 years ahead is the latest past year with those digits,
  // and one less than that is ahead (2070, not 1970).
  ["Tuesday, 01-Dec-76 00:00:00 GMT", at("2076-12-01T00:00:00Z")],
  ["Thursday, 01-Dec-77 00:00:00 GMT", at("1977-12-01T00:00:00Z")],
  ["Friday, 01-Jan-99 00:00:00 GMT", at("1999-01-01T00:00:00Z")],
  ["Wednesday, 01-Jan-70 00:00:00 GMT", at("2070-01-01T00:00:00Z")],
  ["Saturday, 01-Jan-00 00:00:00 GMT", at("2000-01-01T00:00:00Z")],

  // What Date.parse takes for a date and an HTTP-date is not.
  ["Soon 2099", null],
  ["2099", null],
  ["Thu, 01 Jan 2099", null],
  ["Thu, 01 Jan 2099 00:00:00", null],
  ["2099-01-01T00:00:00Z", null],
  ["2026-12-01", null],
  ["Dec 1 2026", null],
  ["1 December 2026", null],
  ["Thu Jan 01 2099 00:00:00 GMT+0000 (Coordinated Universal Time)", null],
  // Dates that do not exist.
  ["Tue, 31 Feb 2099 00:00:00 GMT", null],
  ["Sat, 29 Feb 2099 00:00:00 GMT", null],
  ["Mon, 29 Feb 2100 00:00:00 GMT", null],
  ["Mon, 00 Dec 2026 00:00:00 GMT", null],
  ["Fri, 32 Dec 2026 00:00:00 GMT", null],
  ["Sunday, 31-Sep-26 00:00:00 GMT", null],
  ["Wed Feb 30 00:00:00 2028", null],
  // Times that do not exist.
  ["Tue, 01 Dec 2026 24:00:00 GMT", null],
  ["Tue, 01 Dec 2026 23:60:00 GMT", null],
  ["Tue, 01 Dec 2026 23:59:61 GMT", null],
  // A weekday that is not the date's (RFC 5322 §3.3: it MUST be the day the date implies).
  ["Mon, 01 Dec 2026 00:00:05 GMT", null],
  ["Monday, 01-Dec-26 00:00:05 GMT", null],
  ["Mon Dec  1 00:00:05 2026", null],
  ["Mon, 31 Dec 2099 00:00:00 GMT", null],
  // HTTP-date is case-sensitive, one space apart, GMT only.
  ["tue, 01 Dec 2026 00:00:05 GMT", null],
  ["Tue, 01 dec 2026 00:00:05 GMT", null],
  ["Tue, 01 DEC 2026 00:00:05 GMT", null],
  ["Tue, 01 Dec 2026 00:00:05 gmt", null],
  ["Tue, 01 Dec 2026 00:00:05 UTC", null],
  ["Tue, 01 Dec 2026 00:00:05 PST", null],
  ["Tue, 01 Dec 2026 00:00:05 +0000", null],
  ["Tue, 01 Dec 2026 00:00:05", null],
  ["Tue,  01 Dec 2026 00:00:05 GMT", null],
  ["Tue 01 Dec 2026 00:00:05 GMT", null],
  ["Tue, 01 Dec 2026 00:00:05 GMT ", null],
  [" Tue, 01 Dec 2026 00:00:05 GMT", null],
  ["Tue, 01 Dec 2026 00:00:05 GMT trailing", null],
  ["Tue, 01 Dec 2026 00:00:05 GMT\n", null],
  // Each form's own widths and names.
  ["Tue, 1 Dec 2026 00:00:05 GMT", null],
  ["Tue, 01 Dec 26 00:00:05 GMT", null],
  ["Tue, 01 Dec 02026 00:00:05 GMT", null],
  ["Tue, 01 Dec 2026 0:00:05 GMT", null],
  ["Tue, 01 Dec 2026 00:00:5 GMT", null],
  ["Tue, 01 Dec 2026 00:00:05.000 GMT", null],
  ["Tuesday, 01 Dec 2026 00:00:05 GMT", null],
  ["Tue, 01-Dec-26 00:00:05 GMT", null],
  ["Tuesday, 01-Dec-2026 00:00:05 GMT", null],
  ["Tuesday, 1-Dec-26 00:00:05 GMT", null],
  ["Tue Dec 1 00:00:05 2026", null],
  ["Tue Dec  1 00:00:05 26", null],
  ["Tue Dec  1 00:00:05 2026 GMT", null],
  ["Tue, Dec  1 00:00:05 2026", null],
  ["Tue, 01 December 2026 00:00:05 GMT", null],
  ["Tue, 01 Dez 2026 00:00:05 GMT", null],
  ["Tue, \uff10\uff11 Dec 2026 00:00:05 GMT", null],
  ["Tue, 01 Dec 2026 \u0660\u0660:00:05 GMT", null],
  ["", null],
];

/** [Retry-After header, the wait it asks for in ms from NOW before any cap, or null when it asks for none]. */
export const RETRY_AFTER_CASES: readonly (readonly [string | null, number | null])[] = [
  ["0", 0],
  ["3", 3_000],
  ["120", 120_000],
  [" 120 ", 120_000],
  ["007", 7_000],
  ["86400", 86_400_000],
  ["9".repeat(400), Number.POSITIVE_INFINITY],
  ["Tue, 01 Dec 2026 00:00:05 GMT", 5_000],
  ["  Tue, 01 Dec 2026 00:00:05 GMT  ", 5_000],
  ["Tuesday, 01-Dec-26 00:00:05 GMT", 5_000],
  ["Tue Dec  1 00:00:05 2026", 5_000],
  ["Mon, 30 Nov 2026 23:00:00 GMT", -3_600_000],
  ["Thu, 01 Jan 2099 00:00:00 GMT", at("2099-01-01T00:00:00Z") - NOW],
  [null, null],
  ["", null],
  ["   ", null],
  ["-1", null],
  ["+5", null],
  ["1.5", null],
  ["1e3", null],
  ["0x10", null],
  ["Infinity", null],
  ["5s", null],
  ["5 ", 5_000],
  ["5, 5", null],
  ["\u0663", null],
  ["soon", null],
  ["Soon 2099", null],
  ["Thu, 01 Jan 2099", null],
  ["Tue, 31 Feb 2099 00:00:00 GMT", null],
  ["Mon, 01 Dec 2026 00:00:05 GMT", null],
  ["2099-01-01T00:00:00Z", null],
];
