// @ts-check
// Reads one variable from .dev.vars the way wrangler dev does (dotenv syntax),
// so the demo sends the admin token the mesh actually holds.

/**
 * @param {string} text the file's contents @param {string} name
 * @returns {string | undefined} undefined when the variable is not set
 */
export function devVar(text, name) {
  /** @type {string | undefined} */
  let value;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (m?.[1] !== name) continue;
    const raw = (m[2] ?? "").trim();
    // dotenv (wrangler's parser): a quoted value is what lies between the quotes;
    // an unquoted one ends at an inline " #" comment. `MESH_ADMIN_TOKEN="x"` read
    // naively sent the quotes too, and every admin call got 401.
    const quoted = /^(["'`])(.*)\1/.exec(raw);
    value = quoted ? (quoted[2] ?? "") : raw.replace(/\s+#.*$/, "");
  }
  return value;
}
