// Prints the production JavaScript sizes, raw and gzipped, and fails past the budget.
// The budget is the shopper's: what index.html loads before the shop can run (its module
// scripts and modulepreloads). Chunks fetched later by a dynamic import (the operator
// console) are printed apart and never fail the build: shoppers don't download them.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_KB = 80;
const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");

// Every <script src> and <link rel="modulepreload" href> of index.html is eager.
const eager = new Set();
for (const tag of html.match(/<(script|link)\b[^>]*>/g) ?? []) {
  const isScript = tag.startsWith("<script");
  const isPreload = /\brel=["']?modulepreload\b/.test(tag);
  const url = tag.match(isScript ? /\bsrc=["']?([^"'\s>]+)/ : /\bhref=["']?([^"'\s>]+)/)?.[1];
  if (url && (isScript || isPreload) && url.endsWith(".js")) eager.add(url.replace(/^\//, ""));
}
if (eager.size === 0) {
  console.error("bundle: index.html loads no JavaScript; is dist/ a Vite build?");
  process.exit(1);
}

const kb = (n) => (n / 1024).toFixed(1);
const measure = (file) => {
  const bytes = readFileSync(join(dist, file));
  return { file, raw: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
};
const sum = (files) => files.reduce((t, f) => ({ raw: t.raw + f.raw, gzipped: t.gzipped + f.gzipped }), { raw: 0, gzipped: 0 });

const all = readdirSync(join(dist, "assets"))
  .filter((name) => name.endsWith(".js"))
  .map((name) => measure(`assets/${name}`));
const missing = [...eager].filter((file) => !all.some((f) => f.file === file));
if (missing.length > 0) {
  console.error(`bundle: index.html names ${missing.join(", ")}, not found in dist/assets`);
  process.exit(1);
}
const shopper = sum(all.filter((f) => eager.has(f.file)));
const lazy = all.filter((f) => !eager.has(f.file));

console.log(
  `bundle: shopper ${kb(shopper.raw)} kB JavaScript, ${kb(shopper.gzipped)} kB gzipped (budget ${BUDGET_KB} kB)`,
);
for (const chunk of lazy) {
  console.log(`bundle: on demand ${chunk.file}: ${kb(chunk.raw)} kB, ${kb(chunk.gzipped)} kB gzipped (no budget)`);
}
if (shopper.gzipped > BUDGET_KB * 1024) {
  console.error(`bundle: the shopper's JavaScript is over the ${BUDGET_KB} kB gzipped budget`);
  process.exit(1);
}
