export interface Head {
  startLine: string;
  headers: Map<string, string>;
  headBytes: number;
}
export function parseHead(buf: Buffer): Head | null;
export function readBody(headers: Map<string, string>, buf: Buffer, opts: { untilClose: boolean }): { body: Buffer; used: number } | null;
export function parseResponses(buf: Buffer, opts?: { headRequest?: boolean }): { status: number; headers: Map<string, string>; body: Buffer; complete: boolean }[];
