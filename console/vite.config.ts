import { defineConfig } from "vite";

// Served by the platform under /console/ (locally by the API gateway, in the cloud by CloudFront from S3).
export default defineConfig({
  base: "/console/",
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 2000, sourcemap: false },
});
