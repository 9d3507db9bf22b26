// `wrangler dev`, `wrangler types` and the demo read .dev.vars, which is never
// committed. Create it from the committed example on a fresh clone.
import { copyFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const target = path.join(root, ".dev.vars");
if (!existsSync(target)) {
  copyFileSync(path.join(root, ".dev.vars.example"), target);
  console.log("created .dev.vars from .dev.vars.example");
}
