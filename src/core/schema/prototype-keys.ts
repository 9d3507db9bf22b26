import * as z from "./zod.js";

/**
 * Keys that name an Object prototype slot. Records of labels and headers are matched against
 * requests and copied into objects by consumers of the API, so these keys are refused rather
 * than trusted to be handled safely everywhere.
 */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

const MESSAGE = "keys __proto__, constructor and prototype are reserved";

function noPrototypeKeys(raw: unknown): boolean {
  return typeof raw !== "object" || raw === null || !Object.keys(raw).some((k) => PROTOTYPE_KEYS.has(k));
}

/**
 * `record`, refusing a prototype key at its own path. Checked on the value as sent, before the
 * record parses it: zod's record skips a `__proto__` key (JSON.parse makes it an own key), so a
 * check on the parsed record never sees it, and the entry would be dropped while the call succeeded.
 */
export function refusingPrototypeKeys<T extends z.ZodMiniType>(record: T) {
  return z.pipe(z.unknown().check(z.refine(noPrototypeKeys, MESSAGE)), record);
}
