// tabtune service worker: offline after the first visit.
//
// - The app shell (index.html, the built JS/CSS, the Worker bundle) and the offline demo model and
//   datasets are cached at install, from precache.json (written by vite.config.ts at build time).
// - Navigations go to the network first (a new deploy shows at once) and fall back to the cache.
// - Built assets and demo files come from the cache first.
// - Everything else passes through untouched: Hugging Face downloads (the Worker caches those
//   itself in Cache Storage), range requests, and anything that is not a GET. Datasets the user
//   imports never reach the network or this worker: they stay in IndexedDB.
const BUILD = new URL(self.location.href).searchParams.get('v') || 'dev';
const CACHE = `tabtune-app-${BUILD}`;
const scope = () => new URL(self.registration.scope);
const here = (path) => new URL(path, scope()).href;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const res = await fetch(here('precache.json'), { cache: 'no-cache' });
      if (!res.ok) throw new Error(`precache.json: HTTP ${res.status}`);
      const { files } = await res.json();
      const cache = await caches.open(CACHE);
      await cache.addAll(files.map((f) => new Request(here(f), { cache: 'no-cache' })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const keys = await caches.keys();
      await Promise.all(keys.filter((k) => k.startsWith('tabtune-app-') && k !== CACHE).map((k) => caches.delete(k)));
      await self.clients.claim();
    })(),
  );
});

function isAppFile(url) {
  const base = scope();
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) return false;
  const path = url.pathname.slice(base.pathname.length);
  return path.startsWith('assets/') || path.startsWith('models/demo-base/') || path.startsWith('datasets/') || path.startsWith('benchmarks/') ||
    /^(index\.html|selftest\.html|chat\.html|chat-page\.json|manifest\.webmanifest|icon\.svg|precache\.json)$/.test(path);
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || req.headers.has('range')) return;
  const url = new URL(req.url);
  if (req.mode === 'navigate' && url.origin === scope().origin) {
    event.respondWith(
      (async () => {
        try {
          const res = await fetch(req);
          if (res.ok && url.pathname === scope().pathname) {
            const copy = res.clone();
            event.waitUntil(caches.open(CACHE).then((c) => c.put(here('./'), copy)));
          }
          return res;
        } catch (e) {
          const cache = await caches.open(CACHE);
          const hit = (await cache.match(req, { ignoreSearch: true })) || (await cache.match(here('./'))) || (await cache.match(here('index.html')));
          if (hit) return hit;
          throw e;
        }
      })(),
    );
    return;
  }
  if (!isAppFile(url)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(req, { ignoreSearch: true });
      if (hit) return hit;
      const res = await fetch(req);
      if (res.ok && res.type === 'basic') event.waitUntil(cache.put(req, res.clone()));
      return res;
    })(),
  );
});
