// Prints the production JavaScript size, raw and gzipped, and fails past the budget.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_KB = 80;
const dir = new URL("../dist/assets/", import.meta.url).pathname;
let raw = 0;
let gzipped = 0;
for (const name of readdirSync(dir).filter((file) => file.endsWith(".js"))) {
  const bytes = readFileSync(join(dir, name));
  raw += bytes.length;
  gzipped += gzipSync(bytes, { level: 9 }).length;
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`bundle: ${kb(raw)} kB JavaScript, ${kb(gzipped)} kB gzipped (budget ${BUDGET_KB} kB)`);
if (gzipped > BUDGET_KB * 1024) {
  console.error(`bundle is over the ${BUDGET_KB} kB gzipped budget`);
  process.exit(1);
}
