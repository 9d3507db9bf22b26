// The dashboard's files are bundled as text. `wrangler types` declares the
// modules of wrangler.toml's own [[rules]] (*.css, *.js?raw) in
// worker-configuration.d.ts, but not those of wrangler's default Text rule, so
// the page is declared here.
declare module "*.html" {
  const text: string;
  export default text;
}
