// Entry point of the KubeQuest window. Fonts are bundled files (the CSP allows no font CDN).

import '@fontsource-variable/inter';
import '@fontsource-variable/jetbrains-mono';
import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';

const target = document.getElementById('app');
if (!target) {
  throw new Error('index.html has no #app element to mount KubeQuest into');
}

export default mount(App, { target });
