// Builds the example into example/dist/ (or `--outdir DIR`) with esbuild; `--serve` serves it on
// http://127.0.0.1:5173 (ADMIN_SPA_URL's default, which `make run` allows by
// CORS) and rebuilds on change.
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outIndex = process.argv.indexOf("--outdir");
const dist = outIndex > 0 ? process.argv[outIndex + 1] : join(here, "dist");
const options = {
  entryPoints: [join(here, "main.ts")],
  outfile: join(dist, "main.js"),
  bundle: true,
  format: "iife",
  target: "es2020",
  sourcemap: true,
  logLevel: "warning",
};

await mkdir(dist, { recursive: true });
for (const file of ["index.html", "style.css"]) await copyFile(join(here, file), join(dist, file));

if (process.argv.includes("--serve")) {
  const context = await esbuild.context(options);
  await context.watch();
  const { hosts, port } = await context.serve({ servedir: dist, host: "127.0.0.1", port: 5173 });
  console.log(`example: http://${hosts[0]}:${port}/?api=http://127.0.0.1:8000/graphql`);
} else {
  await esbuild.build(options);
}
