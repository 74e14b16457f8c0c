// Builds the inspector's page into the package (dist/inspector), served by `rewind inspect`.
// `--outDir` on the command line overrides the folder (the tests build into a scratch one).
import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  plugins: [preact()],
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../dist/inspector", import.meta.url)),
    emptyOutDir: true,
    reportCompressedSize: false,
  },
});
