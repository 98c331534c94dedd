// Builds the two Mini Apps into ../backend/mini_apps/static/ (or `--outdir DIR`) with esbuild:
// card.html + card.js, till.html + till.js and the shared mini-app.css. The output is committed
// (`dvorik serve` serves it; `make run` needs no Node.js), and the suite checks it is fresh.
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outIndex = process.argv.indexOf("--outdir");
const out = outIndex > 0 ? process.argv[outIndex + 1] : join(here, "..", "backend", "mini_apps", "static");
const apps = ["card", "till"];

await mkdir(out, { recursive: true });
for (const app of apps) await copyFile(join(here, "src", `${app}.html`), join(out, `${app}.html`));
await copyFile(join(here, "src", "mini-app.css"), join(out, "mini-app.css"));
await esbuild.build({
  entryPoints: apps.map((app) => join(here, "src", `${app}.ts`)),
  outdir: out,
  bundle: true,
  format: "iife",
  target: "es2020",
  charset: "utf8",
  legalComments: "none",
  logLevel: "warning",
});
