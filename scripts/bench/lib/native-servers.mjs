// nginx and HAProxy, configured from scratch in a temp directory: nginx as the
// lean static origins for the throughput rows, and nginx / HAProxy as the
// round-robin proxies the mesh is compared with. Each runs in the foreground
// as our child with ONE worker process / thread, matching workerd, which runs
// a Worker's JavaScript on one thread.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { onCpu } from "./cpu.mjs";
import { startProcess, waitForPort } from "./procs.mjs";
import { tempDir } from "./temp.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The body every throughput origin returns: small, and names the origin like the test origins do. */
export const originBody = (name) => JSON.stringify({ origin: name });

/**
 * Cheap origins for throughput runs, one per port: nginx when installed (never
 * the bottleneck), else small Node servers (lean-origin-process.mjs).
 * @returns {Promise<{ proc: { pid: number, stop(): Promise<void> }, kind: string }>}
 */
export async function startLeanOrigins(nginxBin, ports, cpu = null) {
  if (nginxBin !== null) {
    const proc = await startNginxOrigins(nginxBin, ports.map((port, i) => ({ name: `origin-${i + 1}`, port })), cpu);
    return { proc, kind: "nginx (1 worker), static 21-byte JSON body" };
  }
  const cmd = onCpu(cpu, process.execPath, [path.join(HERE, "lean-origin-process.mjs"), ...ports.map(String)]);
  const proc = startProcess(cmd.command, cmd.args, { name: "node origins" });
  for (const p of ports) await waitForPort(p, 10_000, proc);
  return { proc, kind: "Node http (nginx not installed), 21-byte JSON body" };
}

async function nginxConf(dir, http) {
  const conf = `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
${http}
}
`;
  const file = path.join(dir, "nginx.conf");
  await writeFile(file, conf);
  return file;
}

/**
 * One nginx worker serving N origins, one port each, each answering every path
 * with 200 {"origin":"origin-i"} (and x-origin), like scripts/lib/origin.mjs:
 * sized, except under a path with /chunked/ in it.
 * @param {string} bin @param {{ name: string, port: number }[]} origins
 */
export async function startNginxOrigins(bin, origins, cpu = null) {
  const dir = await tempDir("nginx-origins");
  const servers = origins
    .map(
      (o) => `  server {
    listen 127.0.0.1:${o.port};
    default_type application/json;
    location / { add_header x-origin ${o.name}; return 200 '${originBody(o.name)}'; }
    # The same body unsized: a body filter (sub_filter, here replacing a word by itself) drops the
    # Content-Length, so nginx sends it chunked (ab.mjs --path /chunked/item).
    location ~ /chunked/ { add_header x-origin ${o.name}; sub_filter_types *; sub_filter_once on; sub_filter 'origin' 'origin'; return 200 '${originBody(o.name)}'; }
  }`,
    )
    .join("\n");
  const file = await nginxConf(dir, servers);
  const cmd = onCpu(cpu, bin, ["-p", dir, "-c", file, "-e", path.join(dir, "error.log")]);
  const proc = startProcess(cmd.command, cmd.args, { name: "nginx (origins)" });
  for (const o of origins) await waitForPort(o.port, 10_000, proc);
  return proc;
}

/** nginx as a round-robin reverse proxy with pooled upstream keep-alive connections. */
export async function startNginxProxy(bin, port, upstreamPorts, cpu = null) {
  const dir = await tempDir("nginx-proxy");
  const http = `  upstream origins {
${upstreamPorts.map((p) => `    server 127.0.0.1:${p};`).join("\n")}
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origins;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503 http_504;
    }
  }`;
  const file = await nginxConf(dir, http);
  const cmd = onCpu(cpu, bin, ["-p", dir, "-c", file, "-e", path.join(dir, "error.log")]);
  const proc = startProcess(cmd.command, cmd.args, { name: "nginx (proxy)" });
  await waitForPort(port, 10_000, proc);
  return proc;
}

/** HAProxy as a round-robin HTTP proxy, one thread, server connections reused. */
export async function startHaproxy(bin, port, upstreamPorts, cpu = null) {
  const dir = await tempDir("haproxy");
  const cfg = `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
  retries 2
  option redispatch
frontend fe
  bind 127.0.0.1:${port}
  default_backend origins
backend origins
  balance roundrobin
${upstreamPorts.map((p, i) => `  server o${i + 1} 127.0.0.1:${p}`).join("\n")}
`;
  const file = path.join(dir, "haproxy.cfg");
  await writeFile(file, cfg);
  const cmd = onCpu(cpu, bin, ["-f", file, "-db"]);
  const proc = startProcess(cmd.command, cmd.args, { name: "haproxy" });
  await waitForPort(port, 10_000, proc);
  return proc;
}
