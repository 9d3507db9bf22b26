/**
 * HTTP-date (RFC 9110 §5.6.7), read strictly: IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT") or either obsolete form, rfc850-date
 * ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime-date
 * ("Sun Nov  6 08:49:37 1994"), case-sensitive, naming a date and time that
 * exist and the weekday that date falls on. Not Date.parse: it reads "Soon
 * 2099", "Thu, 01 Jan 2099" or "Tue, 31 Feb 2099 00:00:00 GMT" as dates years
 * ahead, and a Retry-After such as those held a healthy instance out of
 * rotation for the cap's full 5 minutes.
 *
 * scripts/lib/http-date.mjs is a copy for the registration client (node runs
 * the scripts as .mjs, which cannot import TypeScript); test/unit/net/http-date.test.ts
 * holds both to one table and to each other. Change both or neither.
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAYS_LONG = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTH = MONTHS.join("|");
const TIME = String.raw`(\d{2}):(\d{2}):(\d{2})`;
// Each captures weekday, day, month, year, hour, minute, second, in its own order.
const IMF_FIXDATE = new RegExp(String.raw`^(${DAYS.join("|")}), (\d{2}) (${MONTH}) (\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(String.raw`^(${DAYS_LONG.join("|")}), (\d{2})-(${MONTH})-(\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(String.raw`^(${DAYS.join("|")}) (${MONTH}) (\d{2}| \d) ${TIME} (\d{4})$`);

/** The fields of a date as written; `year` is already whole (rfc850's two digits resolved). */
interface DateFields {
  weekday: number;
  day: number;
  month: number;
  year: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * The instant `text` names, in ms since the epoch, or null when it is no
 * HTTP-date. `now` is only for rfc850's two-digit year. The caller trims the
 * header value: here a space outside the grammar is a mismatch.
 */
export function parseHttpDate(text: string, now: number): number | null {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) return instant(fields(DAYS, m[1], m[2], m[3], Number(m[4]), m[5], m[6], m[7]));
  if ((m = RFC850_DATE.exec(text)) !== null) {
    const f = fields(DAYS_LONG, m[1], m[2], m[3], 0, m[5], m[6], m[7]);
    return instant({ ...f, year: rfc850Year(Number(m[4]), f, now) });
  }
  if ((m = ASCTIME_DATE.exec(text)) !== null) return instant(fields(DAYS, m[1], m[3], m[2], Number(m[7]), m[4], m[5], m[6]));
  return null;
}

function fields(
  names: readonly string[],
  weekday: string | undefined,
  day: string | undefined,
  month: string | undefined,
  year: number,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): DateFields {
  // The patterns matched, so every group is there; a missing one reads as -1 and fails the checks below.
  return {
    weekday: names.indexOf(weekday ?? ""),
    day: Number(day ?? -1),
    month: MONTHS.indexOf(month ?? ""),
    year,
    hour: Number(hour ?? -1),
    minute: Number(minute ?? -1),
    second: Number(second ?? -1),
  };
}

/**
 * RFC 9110 §5.6.7: a two-digit year that "appears to be more than 50 years in
 * the future" is "the most recent year in the past that had the same last two
 * digits". So the latest year ending in those digits whose date is at most 50
 * calendar years after `now`.
 */
function rfc850Year(twoDigits: number, f: DateFields, now: number): number {
  const limit = new Date(now);
  limit.setUTCFullYear(limit.getUTCFullYear() + 50);
  let year = (Math.floor(new Date(now).getUTCFullYear() / 100) + 1) * 100 + twoDigits;
  while (utc({ ...f, year }) > limit.getTime()) year -= 100;
  return year;
}

/** The fields' instant, unchecked: Date's own carrying (31 February is 3 March). */
function utc(f: DateFields): number {
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  d.setUTCFullYear(f.year, f.month, f.day);
  d.setUTCHours(f.hour, f.minute, f.second, 0);
  return d.getTime();
}

/**
 * The instant, or null for a date, time or weekday that does not exist or
 * does not match: 31 February, 24:00, a Monday that is a Tuesday (RFC 5322
 * §3.3, whose meaning HTTP-date takes: the weekday "MUST be the day implied by
 * the date"). Second 60 is a leap second, which carries into the next minute.
 */
function instant(f: DateFields): number | null {
  if (Math.min(f.hour, f.minute, f.second) < 0 || f.hour > 23 || f.minute > 59 || f.second > 60) return null;
  const date = new Date(utc({ ...f, hour: 0, minute: 0, second: 0 }));
  if (date.getUTCDate() !== f.day || date.getUTCMonth() !== f.month || date.getUTCDay() !== f.weekday) return null;
  return utc(f);
}
