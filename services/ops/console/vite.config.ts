// The console's build: `npm run build` (CMake's ops-console target runs it) writes index.html and
// assets/ into ORDERFLOW_CONSOLE_OUT (the build tree's console/), which ops-service serves.
import { defineConfig } from "vite";

const outDir = process.env.ORDERFLOW_CONSOLE_OUT ?? "dist";

export default defineConfig({
  base: "/",
  publicDir: false,
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    // One flat assets/ directory of hashed names: what ops-service's /assets/{file} serves.
    rollupOptions: { output: { entryFileNames: "assets/[name]-[hash].js" } },
    sourcemap: false,
    target: "es2022",
  },
});
