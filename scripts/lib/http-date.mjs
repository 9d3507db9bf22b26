// @ts-check
// HTTP-date (RFC 9110 §5.6.7), read strictly: a copy of
// src/core/net/http-date.ts for the registration client, because node runs
// the scripts as .mjs and cannot import TypeScript (node 20: no type
// stripping). test/unit/net/http-date.test.ts holds both to one table and to
// each other. Change both or neither; the reasons for each rule are there.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAYS_LONG = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTH = MONTHS.join("|");
const TIME = String.raw`(\d{2}):(\d{2}):(\d{2})`;
// Each captures weekday, day, month, year, hour, minute, second, in its own order.
const IMF_FIXDATE = new RegExp(String.raw`^(${DAYS.join("|")}), (\d{2}) (${MONTH}) (\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(String.raw`^(${DAYS_LONG.join("|")}), (\d{2})-(${MONTH})-(\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(String.raw`^(${DAYS.join("|")}) (${MONTH}) (\d{2}| \d) ${TIME} (\d{4})$`);

/**
 * @typedef {{ weekday: number, day: number, month: number, year: number, hour: number, minute: number, second: number }} DateFields
 * The fields of a date as written; `year` is already whole (rfc850's two digits resolved).
 */

/**
 * The instant `text` names, in ms since the epoch, or null when it is no
 * HTTP-date. `now` is only for rfc850's two-digit year. The caller trims.
 * @param {string} text
 * @param {number} now
 * @returns {number | null}
 */
export function parseHttpDate(text, now) {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) return instant(fields(DAYS, m[1], m[2], m[3], Number(m[4]), m[5], m[6], m[7]));
  if ((m = RFC850_DATE.exec(text)) !== null) {
    const f = fields(DAYS_LONG, m[1], m[2], m[3], 0, m[5], m[6], m[7]);
    return instant({ ...f, year: rfc850Year(Number(m[4]), f, now) });
  }
  if ((m = ASCTIME_DATE.exec(text)) !== null) return instant(fields(DAYS, m[1], m[3], m[2], Number(m[7]), m[4], m[5], m[6]));
  return null;
}

/**
 * @param {readonly string[]} names
 * @param {string | undefined} weekday @param {string | undefined} day @param {string | undefined} month
 * @param {number} year
 * @param {string | undefined} hour @param {string | undefined} minute @param {string | undefined} second
 * @returns {DateFields}
 */
function fields(names, weekday, day, month, year, hour, minute, second) {
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
 * The latest year ending in `twoDigits` whose date is at most 50 calendar years after `now`.
 * @param {number} twoDigits @param {DateFields} f @param {number} now
 */
function rfc850Year(twoDigits, f, now) {
  const limit = new Date(now);
  limit.setUTCFullYear(limit.getUTCFullYear() + 50);
  let year = (Math.floor(new Date(now).getUTCFullYear() / 100) + 1) * 100 + twoDigits;
  while (utc({ ...f, year }) > limit.getTime()) year -= 100;
  return year;
}

/**
 * The fields' instant, unchecked (setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999).
 * @param {DateFields} f
 */
function utc(f) {
  const d = new Date(0);
  d.setUTCFullYear(f.year, f.month, f.day);
  d.setUTCHours(f.hour, f.minute, f.second, 0);
  return d.getTime();
}

/**
 * The instant, or null for a date, time or weekday that does not exist or does not match.
 * @param {DateFields} f
 * @returns {number | null}
 */
function instant(f) {
  if (Math.min(f.hour, f.minute, f.second) < 0 || f.hour > 23 || f.minute > 59 || f.second > 60) return null;
  const date = new Date(utc({ ...f, hour: 0, minute: 0, second: 0 }));
  if (date.getUTCDate() !== f.day || date.getUTCMonth() !== f.month || date.getUTCDay() !== f.weekday) return null;
  return utc(f);
}
