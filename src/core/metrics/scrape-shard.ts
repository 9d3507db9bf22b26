/**
 * Scrape shards for `GET /metrics?shard=i&shards=n`. One scrape asks every
 * service's coordinator for its totals, and one invocation may make only so
 * many calls (MAX_SCRAPED_SERVICES in api/metrics.ts), so a mesh with more
 * services than that is scraped as n jobs, each taking the services whose
 * name hashes to its shard. The hash is FNV-1a over the name: stable across
 * deploys and isolates, so a service's series always come from the same job
 * and never show up twice or go missing between scrapes.
 */
export const MAX_SCRAPE_SHARDS = 64;

export function scrapeShardOf(name: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
