/* The courier's phone as an app that works without network.
 *
 * Served at /courier/sw.js (postal/web/courier.py fills in VERSION and ASSETS) with the whole
 * site as its scope, but it only ever answers for:
 *  - the static shell (styles, scripts, vendored libraries, icons): kept at install, served
 *    from the cache; a new release is a new VERSION, hence a new cache;
 *  - the courier's pages (home, runs, stops at the door): from the network when it answers
 *    within NETWORK_WAIT, each good answer kept; otherwise the kept copy, or the offline page.
 * Everything else (the API, other roles' pages, any POST) goes to the network untouched.
 * Logging out forgets the kept pages and the kept work (they name citizens); the proofs in
 * IndexedDB stay until they are sent, by the courier who recorded them.
 *
 * Background sync ("postal-outbox"), where the browser has it: sends the proofs waiting in
 * IndexedDB (phone/outbox.js) even with no page open, and asks open pages to send their scans.
 */
"use strict";

const VERSION = "__VERSION__";
const SHELL = "postal-shell-" + VERSION;
const PAGES = "postal-pages";
const ASSETS = "__ASSETS__";
const NETWORK_WAIT = 4000; // ms: past this, a kept page is better than a blank screen
const OFFLINE_PAGE = "/courier/offline";
const COURIER_PAGES = [
  /^\/courier\/$/, /^\/courier\/offline$/, /^\/delivery\/courier$/, /^\/delivery\/runs\/\d+$/,
  /^\/delivery\/stops\/[^/]+$/,
];

importScripts("/courier/shell/phone/outbox.js");

// the shell comes from /courier/shell/ (the same files, sent whole) and is kept under the
// /static/ addresses the pages ask for
async function keepShell() {
  const cache = await caches.open(SHELL);
  await Promise.all(ASSETS.map(async (name) => {
    const response = await fetch("/courier/shell/" + name, { cache: "no-store" });
    if (!response.ok) throw new Error(name + ": " + response.status);
    await cache.put("/static/" + name, response);
  }));
  await cache.add("/courier/manifest.webmanifest");
}

self.addEventListener("install", (event) => {
  event.waitUntil(keepShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names
      .filter((name) => name.startsWith("postal-shell-") && name !== SHELL)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

function isCourierPage(url) {
  return COURIER_PAGES.some((pattern) => pattern.test(url.pathname));
}

function within(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); });
  });
}

async function page(event) {
  const request = event.request;
  const key = new URL(request.url).pathname;
  const cache = await caches.open(PAGES);
  const network = fetch(request).then(async (response) => {
    // only a page itself, never a redirect (to the login page) or an error, is kept
    if (response.status === 200 && response.type === "basic" && !response.redirected) {
      await cache.put(key, response.clone());
    }
    return response;
  });
  try {
    return await within(network, NETWORK_WAIT);
  } catch (error) {
    event.waitUntil(network.catch(() => null)); // a late answer still refreshes the copy
    const kept = await cache.match(key);
    if (kept) return kept;
    const offline = await cache.match(OFFLINE_PAGE);
    if (offline) return offline;
    return network; // nothing kept: the browser shows what the network says
  }
}

async function asset(request) {
  const kept = await caches.match(request, { ignoreSearch: true });
  return kept || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    event.waitUntil(Promise.all([caches.delete(PAGES),
      self.PostalOutbox.forgetWork().catch(() => null)]));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && isCourierPage(url)) {
    event.respondWith(page(event));
  } else if (url.pathname.startsWith("/static/") ||
             url.pathname === "/courier/manifest.webmanifest") {
    event.respondWith(asset(request));
  }
});

// -- background sync ------------------------------------------------------------------------
async function tellPages(message) {
  const windows = await self.clients.matchAll({ type: "window" });
  for (const client of windows) client.postMessage(message);
  return windows.length;
}

async function sendOutbox() {
  const outbox = self.PostalOutbox;
  let session;
  try {
    session = await outbox.session();
  } catch (error) {
    if (error instanceof outbox.LoginNeeded) return; // waits for the courier to log in
    throw error; // still offline: the browser tries the sync again later
  }
  await outbox.exclusive(async () => {
    await outbox.reportClock(session.csrf);
    await outbox.send(session.user, session.csrf);
  });
  await tellPages({ type: "postal-synced" });
}

self.addEventListener("sync", (event) => {
  if (event.tag !== "postal-outbox") return;
  event.waitUntil(tellPages({ type: "postal-sync" }).then(() => sendOutbox()));
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "postal-forget-pages") event.waitUntil(caches.delete(PAGES));
});
