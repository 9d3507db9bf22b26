/**
 * Whether an If-None-Match header names `etag` (a strong tag, `"…"`), so the
 * answer is a 304. RFC 9110, 13.1.2: the header is `*` or a comma-separated
 * list of entity tags, compared with the weak function (`W/"x"` matches
 * `"x"`). The weak form is what a browser sends back through Cloudflare, whose
 * edge weakens a strong ETag unless a cache rule respects strong ones
 * (developers.cloudflare.com/cache/reference/etag-headers). An entry that is
 * no entity tag matches nothing, so a garbled header costs a 200, never a
 * wrong 304.
 */
export function ifNoneMatchMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  const value = header.trim();
  if (value === "*") return true;
  for (const entry of value.split(",")) {
    const tag = entry.trim();
    const opaque = tag.startsWith("W/") ? tag.slice(2) : tag;
    if (opaque === etag) return true;
  }
  return false;
}
