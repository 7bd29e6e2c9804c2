// Entry point of the KubeQuest window. Fonts are bundled files (the CSP allows no font CDN).

import '@fontsource-variable/inter';
import '@fontsource-variable/jetbrains-mono';
import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { openLink } from './lib/ipc';
import { guardLinks } from './lib/links';

const target = document.getElementById('app');
if (!target) {
  throw new Error('index.html has no #app element to mount KubeQuest into');
}

// Lesson links open in the system browser, never in this window (see lib/links.ts).
guardLinks(
  document,
  () => document.baseURI,
  (url) => {
    openLink(url).catch((error: unknown) => console.warn('the link could not be opened', error));
  },
);

export default mount(App, { target });
