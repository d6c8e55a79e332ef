/// <reference types="vitest/config" />
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

// main.go embeds frontend/dist, and the embed needs a file there before the
// first build: put back the committed .gitkeep that emptyOutDir removes.
const keepDist: Plugin = {
  name: 'ferry-keep-dist',
  apply: 'build',
  closeBundle() {
    writeFileSync(resolve(import.meta.dirname, 'dist/.gitkeep'), '');
  },
};

export default defineConfig({
  plugins: [keepDist],
  // Preact's JSX, compiled by Vite's own esbuild (no Preact plugin needed).
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
