// SocialHub service worker: the app shell works offline-first for static assets, while pages
// (HTML) always come from the network first so a signed-out or updated page is never stale.
const CACHE = "socialhub-shell-v1";
const SHELL = ["/manifest.json", "/icon-192.png", "/icon-512.png", "/socialhub.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Only same-origin GETs; never API routes, auth, media or the websocket.
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (/^\/(auth|health|media|_event|_upload|ping)/.test(url.pathname)) return;

  if (request.mode === "navigate" || (request.headers.get("accept") || "").includes("text/html")) {
    // Network first for HTML; fall back to the cached copy when offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok && !response.redirected) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(request, copy));
          }
          return response;
        })
        .catch(() => caches.match(request).then((hit) => hit || caches.match("/feed")))
    );
    return;
  }
  // Static assets (hashed by the build): cache first.
  event.respondWith(
    caches.match(request).then((hit) => hit || fetch(request).then((response) => {
      if (response.ok && url.pathname.startsWith("/assets/")) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(request, copy));
      }
      return response;
    }))
  );
});
