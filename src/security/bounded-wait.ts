/**
 * Waits for a promise at most `ms`, resolving to `undefined` on timeout.
 *
 * Why: in Workers a promise started while serving one request may be cancelled
 * when that request ends and then never settle. Any request that shares such a
 * promise (coalesced token or JWKS refreshes) waits through this, never bare.
 */
export async function waitAtMost<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
