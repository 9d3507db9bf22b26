export interface Origin {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly served: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  hang(): void;
  unhang(): void;
  setHealthy(value: boolean): void;
}
export function createOrigin(opts: { name: string; port?: number; host?: string }): Origin;
export function startOrigins(n: number, prefix?: string): Promise<Origin[]>;
export const PARTIAL_BODY: string;
