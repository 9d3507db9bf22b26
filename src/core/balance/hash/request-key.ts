import type { HashOn } from "../settings.js";

/**
 * The request's hash key for a hash kind, or undefined when the request does
 * not carry it (the balancer then draws at random). An empty value counts as
 * missing: hashing "" would pin every such request to one host.
 */
export function requestHashKey(on: HashOn, headers: Headers, url: URL): string | undefined {
  let key: string | null;
  if (on === "path") key = url.pathname;
  else if (on === "client_ip") key = headers.get("cf-connecting-ip");
  else if ("header" in on) key = headers.get(on.header);
  else if ("query" in on) key = url.searchParams.get(on.query);
  else key = cookieValue(headers.get("cookie"), on.cookie);
  return key === null || key === "" ? undefined : key;
}

/** The first cookie called `name` in a Cookie header (`a=1; b=2`), without splitting the whole header. */
export function cookieValue(header: string | null, name: string): string | null {
  if (header === null) return null;
  let at = 0;
  let eq = -1;
  while (at < header.length) {
    const end = header.indexOf(";", at);
    const stop = end === -1 ? header.length : end;
    // The next '=' is looked for again only once it is behind us: searched from every pair's start, a client's
    // header of many pairs without one was rescanned to its end per pair (n², seconds of CPU for 1 MB).
    if (eq < at) {
      eq = header.indexOf("=", at);
      if (eq === -1) return null;
    }
    if (eq < stop && header.slice(at, eq).trim() === name) return header.slice(eq + 1, stop).trim();
    at = stop + 1;
  }
  return null;
}
