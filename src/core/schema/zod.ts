import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

/**
 * The project's zod: the tree-shakable "mini" build with English messages.
 * Import it as a namespace (`import * as z from "./zod.js"`) and only ever
 * access members statically: esbuild then keeps just the schemas used. The
 * classic build, or passing the namespace around as a value, pulls in every
 * locale and the JSON-schema code (~60 KiB gzipped in the Worker bundle).
 */
config(en());

export * from "zod/mini";
