/**
 * Narrows away undefined, failing the test with a message instead of using a
 * non-null assertion (house rule: no `!`).
 */
export function defined<T>(value: T | undefined, what = "value"): T {
  if (value === undefined) throw new Error(`expected ${what} to be defined`);
  return value;
}
