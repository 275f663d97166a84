/// Working without signal: the app installs (manifest), and a service worker keeps the pages
/// last seen (network first, the copy when there is no network) and holds the forms sent
/// while offline — new requests, actions, visits, reports, follow-up answers, households
/// informed of a notice, consultation positions, wishes collected — in IndexedDB,
/// sending them, in order and each with its own idempotency key, once the network answers
/// again. The pages show what is still waiting (the CLI's spool, in the browser).
package enum Offline {
    /// Bumped when the worker's logic changes (old caches are dropped on activation).
    static let version = "gridloop-v2"

    package static let manifest = """
        {
          "name": "网格通 GridLoop",
          "short_name": "网格通",
          "description": "网格员、街道和部门的待办与诉求",
          "lang": "zh-CN",
          "start_url": "/inbox",
          "scope": "/",
          "display": "standalone",
          "background_color": "#f3f5f7",
          "theme_color": "#0b5cad",
          "icons": [{ "src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any" }]
        }
        """

    package static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="18" fill="#0b5cad"/>\
        <path fill="none" stroke="#fff" stroke-width="6" d="M20 20h56v56H20zM20 48h56M48 20v56"/><circle cx="48" cy="48" r="9" fill="#e8a200"/></svg>
        """

    package static let serviceWorker = """
        "use strict";
        var VERSION = "\(version)";
        var QUEUED = /^\\/(submit|report|requests\\/[0-9a-f-]{36}\\/(act|visit)|followup\\/[0-9a-f-]{36}|notices\\/[A-Za-z0-9_-]+\\/informs|consultations\\/[A-Za-z0-9_-]+\\/positions|wishes)$/;
        var CACHED = /^\\/(inbox|submit|report|requests\\/[0-9a-f-]{36}|status\\/[0-9a-f-]{36}|plates\\/[A-Za-z0-9-]+|notices(\\/[A-Za-z0-9_-]+)?|consultations(\\/[A-Za-z0-9_-]+)?|wishes(\\/[A-Za-z0-9_-]+)?)$/;

        function db() {
          return new Promise(function (resolve, reject) {
            var open = indexedDB.open("gridloop-outbox", 1);
            open.onupgradeneeded = function () { open.result.createObjectStore("waiting", { keyPath: "id", autoIncrement: true }); };
            open.onsuccess = function () { resolve(open.result); };
            open.onerror = function () { reject(open.error); };
          });
        }
        function store(mode, work) {
          return db().then(function (database) {
            return new Promise(function (resolve, reject) {
              var tx = database.transaction("waiting", mode), result;
              result = work(tx.objectStore("waiting"));
              tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
              tx.onerror = function () { reject(tx.error); };
            });
          });
        }

        self.addEventListener("install", function (event) {
          event.waitUntil(caches.open(VERSION).then(function (cache) {
            return cache.addAll(["/static/app.css", "/static/app.js", "/static/icon.svg"]);
          }).then(function () { return self.skipWaiting(); }));
        });
        self.addEventListener("activate", function (event) {
          event.waitUntil(caches.keys().then(function (names) {
            return Promise.all(names.filter(function (name) { return name !== VERSION; }).map(function (name) { return caches.delete(name); }));
          }).then(function () { return self.clients.claim(); }));
        });

        function offlinePage(count) {
          var html = '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
            '<title>已保存 · GridLoop</title><link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script></head>' +
            '<body data-lang="zh"><header class="bar"><a class="brand" href="/inbox">网格通 GridLoop</a></header><main>' +
            '<p class="notice queued-notice" role="status">没有网络：已保存在手机上，联网后自动发送（待发送 ' + count + ' 件）。<br>' +
            'No signal: saved on this phone, sent by itself when the network is back (' + count + ' waiting).</p>' +
            '<p><a href="/inbox">← 返回待办 / Back to the inbox</a></p></main></body></html>';
          return new Response(html, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
        }

        function queue(request) {
          return request.clone().arrayBuffer().then(function (body) {
            var item = { url: request.url, type: request.headers.get("Content-Type") || "", body: body, at: Date.now() };
            return store("readwrite", function (waiting) { waiting.add(item); });
          }).then(function () {
            return store("readonly", function (waiting) { return waiting.count(); });
          }).then(function (count) { return offlinePage(count); });
        }

        var flushing = null;
        function flush() {
          if (flushing) return flushing;
          var sent = 0, refused = 0;
          flushing = store("readonly", function (waiting) { return waiting.getAll(); }).then(function (items) {
            return items.reduce(function (chain, item) {
              return chain.then(function (stop) {
                if (stop) return true;
                return fetch(item.url, { method: "POST", body: item.body, headers: { "Content-Type": item.type }, credentials: "same-origin" })
                  .then(function (response) {
                    // Signed out meanwhile, or the service busy or down: keep it (and the rest) for later.
                    if (new URL(response.url).pathname === "/signin" || response.status === 401 || response.status === 429 || response.status >= 500) return true;
                    // Taken, or refused for good (a form the service will never accept): no longer waiting.
                    if (response.ok) { sent += 1; } else { refused += 1; }
                    return store("readwrite", function (waiting) { waiting.delete(item.id); }).then(function () { return false; });
                  }, function () { return true; });
              });
            }, Promise.resolve(false));
          }).then(function () {
            flushing = null;
            return store("readonly", function (waiting) { return waiting.count(); }).then(function (left) {
              return self.clients.matchAll().then(function (clients) {
                clients.forEach(function (client) { client.postMessage({ waiting: left, sent: sent, refused: refused }); });
              });
            });
          }, function () { flushing = null; });
          return flushing;
        }

        // Signed out: the pages kept on the phone go (the next person must not see them); forms
        // still waiting stay until they are sent.
        function forget() {
          return caches.keys().then(function (names) { return Promise.all(names.map(function (name) { return caches.delete(name); })); });
        }

        self.addEventListener("message", function (event) {
          if (event.data === "flush") event.waitUntil(flush());
          if (event.data === "forget") event.waitUntil(forget());
        });

        self.addEventListener("fetch", function (event) {
          var request = event.request, url = new URL(request.url);
          if (url.origin !== self.location.origin) return;
          if (request.method === "POST" && QUEUED.test(url.pathname)) {
            var copy = request.clone();
            event.respondWith(fetch(request).catch(function () { return queue(copy); }));
            return;
          }
          if (request.method !== "GET") return;
          if (url.pathname.indexOf("/static/") === 0) {
            event.respondWith(caches.match(request).then(function (hit) {
              return hit || fetch(request).then(function (response) {
                var keep = response.clone();
                caches.open(VERSION).then(function (cache) { cache.put(request, keep); });
                return response;
              });
            }));
            return;
          }
          if (CACHED.test(url.pathname)) {
            event.respondWith(fetch(request).then(function (response) {
              if (response.ok && !response.redirected) {
                var keep = response.clone();
                caches.open(VERSION).then(function (cache) { cache.put(request, keep); });
              }
              return response;
            }, function () {
              return caches.match(request, { ignoreSearch: url.pathname !== "/inbox" }).then(function (hit) {
                return hit || caches.match("/inbox") || offlinePage(0);
              });
            }));
          }
        });
        """
}
