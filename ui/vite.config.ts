// Builds the KubeQuest window into ui/dist, which the Tauri shell embeds.
//
// The window runs under a strict Content-Security-Policy (see src-tauri/tauri.conf.json):
// scripts, styles and fonts may only come from files of the app itself. So nothing here may
// emit inline scripts (the module-preload polyfill would), inline styles or data: fonts.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    // Fonts must be files: the CSP allows `font-src 'self'`, not data: URIs.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
