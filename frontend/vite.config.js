import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  // The default, kept explicit: the dev and preview servers answer index.html for
  // /admin/... so the console's paths load like the shop's (CloudFront needs the same).
  appType: "spa",
  // Each dev server of a test run gets its own dependency cache (local/launch.py
  // sets it): Vite's pre-bundling has no lock between processes sharing one.
  cacheDir: process.env.VITE_CACHE_DIR || "node_modules/.vite",
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  preview: { host: "127.0.0.1", port: 5173, strictPort: true },
  build: { outDir: "dist", sourcemap: true },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test-setup.js"],
    restoreMocks: true,
  },
});
