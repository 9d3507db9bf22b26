import * as z from "../schema/zod.js";

/*
 * The times in the mesh's event lines (`ts`, `ejectedUntil`, `leaseExpiredAt`),
 * read strictly: an RFC 3339 `date-time` (§5.6) as every writer prints it,
 * `new Date(ms).toISOString()`, so `2026-11-30T10:00:00.000Z`. Allowed besides:
 * no fraction or 1 to 9 digits of one, and a numeric offset `±HH:MM` for `Z`.
 *
 * Not Date.parse: it reads "1", "2026", "Dec 1 2026", "2026-12-01 10:00" and
 * HTTP-dates as times, a time without a zone in the machine's own zone, and
 * carries "2026-02-30" into March and "24:00" into the next day, so a line
 * that names no real instant passed the documented schema.
 *
 * Refused on purpose, though some standard allows them: lowercase `t` and `z`
 * (RFC 3339's note), ISO 8601's other forms (basic, week, ordinal, comma
 * fraction, no seconds) and toISOString's six-digit years (outside 0000–9999,
 * ISO 8601 only "by agreement"); no writer prints any of them. A leap second
 * (`:60`) too: Date has none and Date.parse refuses one, so no reader could
 * place the line.
 */

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

const SHAPE = "must be an RFC 3339 date-time such as 2026-11-30T10:00:00.000Z or 2026-11-30T11:00:00+01:00";
const REAL = "must name a real date and time";

/** The proleptic Gregorian calendar, as Date counts it (year 0000 is a leap year). */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Why `text` is not an event time, or null when it is one. The message names the first field that does not exist. */
export function isoTimeProblem(text: string): string | null {
  const m = ISO_TIME.exec(text);
  if (m === null) return SHAPE;
  const [, yyyy = "", mm = "", dd = "", hh = "", mi = "", ss = "", sign, oh = "", om = ""] = m;
  const month = Number(mm);
  if (month < 1 || month > 12) return `${REAL}: there is no month ${mm}`;
  const day = Number(dd);
  if (day < 1 || day > daysInMonth(Number(yyyy), month)) return `${REAL}: ${yyyy}-${mm} has no day ${dd}`;
  if (Number(hh) > 23) return `${REAL}: there is no hour ${hh}`;
  if (Number(mi) > 59) return `${REAL}: there is no minute ${mi}`;
  if (Number(ss) > 59) return `${REAL}: there is no second ${ss}`;
  if (sign !== undefined && (Number(oh) > 23 || Number(om) > 59)) return `${REAL}: there is no offset ${sign}${oh}:${om}`;
  return null;
}

/** The one schema for every event time (request-event.ts, coordinator-events.ts). */
export const isoTimeSchema = z.string().check(
  z.superRefine((text, ctx) => {
    const problem = isoTimeProblem(text);
    if (problem !== null) ctx.issues.push({ code: "custom", message: problem, input: text });
  }),
);
