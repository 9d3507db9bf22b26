import { logpushObjectKey, toNdjson, traceEventRecord } from "../../src/core/events/logpush-layout.js";

/** This Worker's own bindings (wrangler.toml next to this file); the mesh's Env does not have them. */
interface LogpushLocalEnv {
  LOGPUSH_BUCKET: R2Bucket;
}

/** Eight hex digits, like the random part of a Logpush object name, so two batches in one second never collide. */
function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/**
 * The Tail Worker: each batch of trace items the runtime hands over becomes
 * one R2 object. A real Logpush job batches more (by size and time); one
 * object per tail call keeps this Worker stateless, and readers take any
 * number of objects.
 */
export default {
  async tail(items, env) {
    if (items.length === 0) return;
    const now = Date.now();
    const records = items.map((item) => traceEventRecord(item, now));
    const key = logpushObjectKey(records, now, randomSuffix());
    await env.LOGPUSH_BUCKET.put(key, await gzip(toNdjson(records)), {
      httpMetadata: { contentType: "application/x-ndjson" },
    });
  },
} satisfies ExportedHandler<LogpushLocalEnv>;
