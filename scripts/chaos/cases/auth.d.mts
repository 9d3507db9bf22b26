import type { Mesh } from "../mesh.mjs";
import type { Row } from "../model/report.mjs";
export const SIGNING_BINDING: string;
export const SIGNING_SECRET: string;
export function runAuth(mesh: Mesh, opts?: { log?: (line: string) => void }): Promise<Row[]>;
