import type { Mesh } from "../mesh.mjs";
import type { Row } from "../model/report.mjs";
export function runRegistrations(mesh: Mesh, opts?: { limit?: number; log?: (line: string) => void }): Promise<Row[]>;
