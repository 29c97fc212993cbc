import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

mount(App, { target: document.getElementById('app')! });

// Offline after the first visit: the service worker caches the app shell and the demo model
// and datasets (never anything the user imports: that stays in IndexedDB). `?nosw` turns it off.
if (import.meta.env.PROD && 'serviceWorker' in navigator && !new URLSearchParams(location.search).has('nosw')) {
  addEventListener('load', () => {
    const url = new URL(`sw.js?v=${encodeURIComponent(__TABTUNE_BUILD__)}`, document.baseURI);
    navigator.serviceWorker.register(url, { scope: './' }).catch((e: unknown) => console.warn('service worker not registered:', e));
  });
}
