// Compiles every assembly/*.ts entry (files starting with "_" are shared code, not entries) into
// ../build/activities/<name>.wasm with the incremental runtime and its exports, as Loom's AssemblyScript ABI needs.
import { main } from "assemblyscript/asc";
import { mkdirSync, readdirSync } from "node:fs";

const outDir = new URL("../build/activities/", import.meta.url).pathname;
mkdirSync(outDir, { recursive: true });
const entries = readdirSync(new URL("assembly/", import.meta.url))
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
  .sort();

for (const file of entries) {
  const name = file.slice(0, -3);
  const { error, stderr } = await main([
    `assembly/${file}`,
    "-o", `${outDir}${name}.wasm`,
    "--runtime", "incremental",
    "--exportRuntime",
    "--optimizeLevel", "3",
    "--shrinkLevel", "0",
  ]);
  if (error) {
    console.error(stderr.toString());
    console.error(`asc failed on ${file}: ${error.message}`);
    process.exit(1);
  }
  console.log(`    ${name}.wasm`);
}
