// tabtune service worker: the app shell and the offline demo files come from the cache when the
// network is away. Model downloads are cached by the app itself (Cache Storage), and datasets
// never leave IndexedDB, so nothing else is stored here.
const CACHE = 'tabtune-app-v1';
const PRECACHE = ['./', './index.html', './models/demo-base/config.json', './models/demo-base/model.safetensors', './models/demo-base/tokenizer.json',
  './models/demo-base/tokenizer_config.json', './models/demo-base/chat_template.jinja', './models/demo-base/generation_config.json',
  './datasets/factbook-qa.jsonl', './datasets/factbook-qa-eval.jsonl'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith('tabtune-app-') && k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || event.request.headers.has('range')) return;
  // Network first (fresh app after a deploy), the cache when offline; same-origin app files only.
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        if (res.ok && !url.pathname.includes('/resolve/')) {
          const copy = res.clone();
          void caches.open(CACHE).then((c) => c.put(event.request, copy));
        }
        return res;
      })
      .catch(() => caches.match(event.request).then((hit) => hit ?? caches.match('./index.html')).then((r) => r ?? Response.error())),
  );
});
