// @ts-check
// Event times to epoch milliseconds. Date.parse was a tenth of the work per
// event; events come in time order, so most share the last one's minute, and
// for those only the seconds and milliseconds are read. Only the exact shape
// `toISOString()` prints (what the mesh writes) takes the short cut.

/** The start of `toISOString()`'s shape, up to the seconds. */
const ISO_MINUTE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:/;

/** @param {string} s @param {number} i the value of the decimal digit at `s[i]`, or NaN */
const digit = (s, i) => {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};

export class EventClock {
  constructor() {
    /** The last `YYYY-MM-DDTHH:MM:` read, and that minute's epoch ms. */
    this.minute = "";
    this.minuteMs = 0;
  }

  /**
   * Date.parse(ts), NaN included.
   * @param {string} ts
   */
  epochMs(ts) {
    if (ts.length !== 24 || ts.charCodeAt(23) !== 90 /* Z */ || ts.charCodeAt(19) !== 46 /* . */) return Date.parse(ts);
    // Seconds 00..59 (Date.parse refuses 60), then milliseconds; NaN when any is not a digit.
    const tens = digit(ts, 17);
    const inMinute = tens <= 5 ? (tens * 10 + digit(ts, 18)) * 1000 + digit(ts, 20) * 100 + digit(ts, 21) * 10 + digit(ts, 22) : NaN;
    if (Number.isNaN(inMinute)) return Date.parse(ts);
    if (this.minute !== "" && ts.startsWith(this.minute)) return this.minuteMs + inMinute;
    const t = Date.parse(ts);
    if (!Number.isNaN(t) && ISO_MINUTE.test(ts)) {
      this.minute = ts.slice(0, 17);
      this.minuteMs = t - inMinute;
    }
    return t;
  }
}
