import type { Exchange } from "../model/outcomes.mjs";
import type { parseResponses } from "./http-parse.mjs";
export type TimedExchange = Exchange & { origin: string | null; ms: number };
export function exchange(url: string, opts: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs: number }): Promise<TimedExchange>;
export function load(
  url: string,
  opts: { total: number; concurrency: number; timeoutMs: number; method?: string; body?: (i: number) => string; hook?: (i: number) => Promise<void> | void; paceMs?: number },
): Promise<TimedExchange[]>;
export type RawStep = { write: string | Buffer } | { waitMs: number } | { waitForInterimMs: number } | { destroy: true } | { endWrite: true };
export interface RawResult {
  responses: ReturnType<typeof parseResponses>;
  closedByPeer: boolean;
  error: string | null;
  ms: number;
  bytes: number;
}
export function rawExchange(port: number, steps: RawStep[], opts: { timeoutMs: number; readAll?: boolean }): Promise<RawResult>;
