import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Each integration file starts its own app and database: two at a time suits 2 cores.
    maxWorkers: 2,
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          // One file at a time: the page budget is timed in Chromium, and a second browser
          // with its own demo (screenshots, axe) on the other core made it a measure of that.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        // fast-check against the real app in a child process (FUZZ_RUNS cases per route,
        // FUZZ_SEED). Every request has its own deadline; these limits are only a backstop.
        test: {
          name: "fuzz",
          include: ["test/fuzz/**/*.test.ts"],
          testTimeout: 3_600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
