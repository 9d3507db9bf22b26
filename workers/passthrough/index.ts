/**
 * The benchmark baseline: a Worker whose fetch handler only forwards each
 * request to one origin and returns its answer untouched. No routing, no
 * balancing, no header rewriting, no logging, so `npm run bench` can show what
 * the mesh costs on top of the cheapest plain proxy run the same way (same
 * bundler, same workerd, same Miniflare entry).
 *
 * The init is spelled out rather than written `fetch(url, request)`: passing
 * the incoming Request as init measured ~12% fewer req/s in workerd 1.20260426
 * (it copies the whole Request), and a slow baseline would flatter the mesh.
 */
interface PassthroughEnv {
  /** Base URL of the one origin, e.g. "http://127.0.0.1:9101" (no trailing slash). */
  ORIGIN_URL: string;
}

export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
    });
  },
} satisfies ExportedHandler<PassthroughEnv>;
