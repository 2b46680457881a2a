/* The courier's phone, on every courier page (templates/delivery/_phone.html draws the bar):
 *
 *  - installs the service worker (/courier/sw.js) that keeps the pages for offline use, and
 *    keeps the pages of the courier's current work once the work itself is fetched;
 *  - keeps the queue of scans (localStorage, written before anything goes on the network)
 *    and, with phone/outbox.js, the proofs recorded at the door (IndexedDB);
 *  - syncs them: at once when something is queued, when the network returns, when the page
 *    becomes visible, every SYNC_EVERY_MS while anything waits, and through background sync
 *    where the browser has it; a sync holds the phone's lock, so tabs take turns;
 *  - shows it: online or not, how old the data is, what waits (scans, proofs, photos), the
 *    last sync, the phone's clock if it is off, and what the server refused with what to do.
 *
 * Pages use it through window.PostalPhone (courier.js for the scanner, delivery.js at the
 * door and on the run).
 */
(function () {
  "use strict";

  const bar = document.getElementById("phone-bar");
  if (!bar || !window.PostalOutbox) return;
  const Outbox = window.PostalOutbox;
  const USER = String(bar.dataset.user);
  const SCANS_KEY = "postal.scans." + USER;
  const NOTICE_KEY = "postal.notice";
  const BATCH = 500; // scans per request (the server takes up to 1000)
  const LOG_MAX = 300;
  const SYNC_EVERY_MS = 10000;
  const PAGES_EVERY_MS = 5 * 60 * 1000; // keep the pages again at most this often
  const $ = (id) => document.getElementById(id);
  const listeners = {};

  function msg(name) {
    const key = "msg" + name.split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
    return bar.dataset[key] || name;
  }

  function on(event, fn) { (listeners[event] = listeners[event] || []).push(fn); }
  function emit(event, value) { for (const fn of listeners[event] || []) fn(value); }

  // -- scans: the queue and the log of this courier, in localStorage ---------------------------
  const scans = {
    state: null,
    load() {
      let s = null;
      try { s = JSON.parse(localStorage.getItem(SCANS_KEY)); } catch (e) { /* damaged */ }
      if (!s || !Array.isArray(s.queue) || !Array.isArray(s.log)) s = { queue: [], log: [] };
      this.state = s;
      return s;
    },
    save() { localStorage.setItem(SCANS_KEY, JSON.stringify(this.state)); },
    add(scan, extra) {
      this.state.queue.push(scan);
      this.state.log.push(Object.assign({ status: "pending" }, extra || {}, scan));
      const log = this.state.log;
      if (log.length > LOG_MAX) {
        this.state.log = log.filter((e, i) => e.status === "pending" || i >= log.length - LOG_MAX);
      }
      this.save(); // on the device before anything goes on the network
      changed();
    },
    /** The server's answers: each answered scan leaves the queue and its log entry says how
     * it went. A "duplicate" of a scan whose first send was cut by closing or reloading the
     * page is that first send arriving: shown as recorded, not as recorded before. */
    settle(results) {
      const byId = new Map(results.map((r) => [r.id, r]));
      const queued = new Map(this.state.queue.map((s) => [s.id, s]));
      this.state.queue = this.state.queue.filter((s) => !byId.has(s.id));
      const now = Date.now();
      for (const entry of this.state.log) {
        const r = byId.get(entry.id);
        if (!r) continue;
        const scan = queued.get(entry.id) || {};
        const cut = scan.cut || entry.cut;
        entry.status = r.status === "duplicate" && cut ? "accepted" : r.status;
        entry.message = r.error ? r.error.message : msg(entry.status);
        entry.settled_at = now;
      }
      this.save();
      emit("scans", results);
      changed();
    },
  };
  scans.load();
  // a send that was on its way when the page went away (reload, closed tab): its answer is
  // lost, and the server may well have stored it
  for (const scan of scans.state.queue) {
    if (scan.inflight) { scan.cut = true; delete scan.inflight; }
  }
  scans.save();

  // another tab of the same courier scanned or synced: take its view
  window.addEventListener("storage", (e) => {
    if (e.key === SCANS_KEY) { scans.load(); changed(); }
  });

  async function sendScans(csrf) {
    let oneByOne = false;
    while (scans.state.queue.length) {
      const batch = scans.state.queue.slice(0, oneByOne ? 1 : BATCH);
      for (const s of batch) s.inflight = true;
      scans.save();
      let response;
      try {
        response = await Outbox.call("/api/v1/scans", {
          method: "POST", headers: Outbox.headers(csrf, "application/json"),
          body: JSON.stringify(batch.map((s) => {
            const out = Object.assign({}, s);
            delete out.inflight; delete out.cut;
            return out;
          })),
        });
      } finally {
        for (const s of batch) delete s.inflight;
        scans.save();
      }
      if (response.status === 400) throw new Outbox.LoginNeeded("csrf");
      if (response.status === 422) {
        if (batch.length > 1) { oneByOne = true; continue; }
        const body = await response.json().catch(() => ({}));
        const why = (body.error && body.error.message) || msg("invalid");
        scans.settle([{ id: batch[0].id, status: "rejected", error: { message: why } }]);
        continue;
      }
      if (!response.ok) throw new Outbox.ServerUnwell(String(response.status));
      scans.settle(await response.json());
    }
  }

  // -- the work: what the server said last (the page's own copy, or a newer one kept) --------
  let work = null;
  let workAt = 0; // server time (ms) of `work`
  const embedded = $("work-data");
  if (embedded) {
    try {
      work = JSON.parse(embedded.dataset.work);
      workAt = Date.parse(work.generated_at) || 0;
    } catch (e) { work = null; }
  }
  const renderedAt = Date.parse(bar.dataset.renderedAt) || 0;

  function dataTime() { return Math.max(workAt, renderedAt); }

  async function loadKeptWork() {
    const kept = await Outbox.meta("work:" + USER).catch(() => null);
    if (kept && kept.work && Date.parse(kept.work.generated_at) > workAt) {
      work = kept.work;
      workAt = Date.parse(work.generated_at);
      changed();
    }
  }

  async function fetchWork() {
    const response = await Outbox.call(bar.dataset.workUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const fresh = await response.json();
    work = fresh;
    workAt = Date.parse(fresh.generated_at) || Date.now();
    await Outbox.meta("work:" + USER, { work: fresh, kept_at: Date.now() });
    changed();
    await keepPages(fresh.pages || []);
  }

  let fetchingWork = null;
  let workAgain = false;

  function refreshWork() {
    if (fetchingWork) { workAgain = true; return; }
    fetchingWork = fetchWork().catch(() => {}).finally(() => {
      fetchingWork = null;
      if (workAgain) { workAgain = false; refreshWork(); }
    });
  }

  /** Keep the courier's pages in the service worker's cache, for reloading them offline. */
  async function keepPages(pages) {
    if (!("caches" in window) || !pages.length) return;
    const signature = pages.join("|");
    const last = await Outbox.meta("pages:" + USER).catch(() => null);
    if (last && last.signature === signature && Date.now() - last.at < PAGES_EVERY_MS) {
      bar.dataset.pagesKept = "1";
      return;
    }
    const cache = await caches.open("postal-pages");
    for (const url of pages) {
      try {
        const response = await fetch(url, { credentials: "same-origin",
          headers: { "X-Postal-Prefetch": "1" } });
        if (response.status === 200 && !response.redirected) await cache.put(url, response);
      } catch (e) {
        return; // offline again: keep what we have
      }
    }
    await Outbox.meta("pages:" + USER, { signature, at: Date.now() });
    bar.dataset.pagesKept = "1";
    emit("pages-kept", pages);
  }

  // -- syncing --------------------------------------------------------------------------------
  let syncing = null;
  let again = false;
  let problem = null; // "login" | "server" | null
  let clock = null;
  let lastAttempt = 0;
  let retryMs = 0; // after a failed send while "online" (a weak signal): try again, backing off
  let retryTimer = null;

  function retryLater() {
    retryMs = Math.min(retryMs ? retryMs * 2 : 3000, 60000);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => sync(), retryMs);
  }

  async function syncOnce() {
    if (!navigator.onLine) { changed(); return; }
    lastAttempt = Date.now();
    let session;
    try {
      session = await Outbox.session();
      if (session.user !== USER) throw new Outbox.LoginNeeded("another user");
      await Outbox.exclusive(async () => {
        clock = await Outbox.reportClock(session.csrf) || clock;
        await sendScans(session.csrf);
        await Outbox.send(USER, session.csrf, () => changed());
      });
      problem = null;
      retryMs = 0;
      await Outbox.meta("last-sync:" + USER, Date.now());
      emit("synced", null);
      refreshWork(); // not awaited: a scan made meanwhile must not wait for the pages
    } catch (error) {
      if (error instanceof Outbox.LoginNeeded) problem = "login";
      else if (error instanceof Outbox.ServerUnwell) problem = "server";
      else if (!(error instanceof Outbox.Offline)) { problem = "server"; console.error(error); }
      if (problem !== "login" && navigator.onLine) retryLater();
    } finally {
      changed();
    }
  }

  /** Sync now (or right after the sync under way); resolves when it is done. */
  function sync() {
    if (syncing) { again = true; return syncing; }
    syncing = (async () => {
      try {
        do { again = false; await syncOnce(); } while (again);
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  }

  function askBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register("postal-outbox"))
      .catch(() => {});
  }

  async function addProof(proof) {
    const record = await Outbox.add(Object.assign({ user: USER }, proof));
    changed();
    if (!navigator.onLine) askBackgroundSync();
    return record;
  }

  // the browser wakes the worker when the network is back (background sync): queue a wake-up
  // whenever something is left waiting offline
  on("change", () => {
    if (!navigator.onLine && scans.state.queue.length) askBackgroundSync();
  });

  // -- the bar ----------------------------------------------------------------------------------
  let proofs = [];
  let lastSync = null;
  let refreshing = null;
  let refreshAgain = false;

  function ago(ms) {
    const minutes = Math.round((Date.now() - ms) / 60000);
    if (minutes < 1) return msg("just-now");
    if (minutes < 60) return minutes + " " + msg("minutes-ago");
    const hours = Math.floor(minutes / 60);
    return hours + " " + msg("hours-ago");
  }

  function clockTime(ms) {
    return new Date(ms).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit",
      timeZone: "Asia/Ho_Chi_Minh" }); // local time is the office's, whatever the phone says
  }

  /** Something changed: show it now from what is known (the scan queue is synchronous),
   * then again once the proofs are read back from IndexedDB. */
  function changed() {
    render();
    emit("change", null);
    refresh();
  }

  function refresh() {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = Outbox.list(USER).catch(() => proofs).then(async (list) => {
      proofs = list;
      lastSync = await Outbox.meta("last-sync:" + USER).catch(() => lastSync);
      clock = clock || await Outbox.meta("clock").catch(() => null);
      render();
      emit("change", null);
    }).finally(() => {
      refreshing = null;
      if (refreshAgain) { refreshAgain = false; refresh(); }
    });
  }

  function text(id, value) {
    const el = $(id);
    if (el) el.textContent = value;
  }

  function render() {
    const online = navigator.onLine;
    const queuedProofs = proofs.filter((p) => p.state === "queued");
    const photos = queuedProofs.filter((p) => p.photo && !p.uploaded).length;
    const pending = scans.state.queue.length + queuedProofs.length;
    const net = $("net");
    if (net) {
      net.textContent = online ? msg("online") : msg("offline");
      net.classList.toggle("offline", !online);
    }
    bar.classList.toggle("offline", !online);
    bar.classList.toggle("has-pending", pending > 0);
    const scanner = $("scanner");
    if (scanner) scanner.classList.toggle("has-pending", pending > 0);
    text("pending", String(pending));
    text("queue-scans", String(scans.state.queue.length));
    text("queue-proofs", String(queuedProofs.length));
    text("queue-photos", String(photos));
    text("last-sync", lastSync ? clockTime(lastSync) + " (" + ago(lastSync) + ")" : msg("never"));
    const at = dataTime();
    const age = $("data-age");
    if (age) {
      age.textContent = at ? msg("data-at") + " " + clockTime(at) + " · " + ago(at) : "";
      age.classList.toggle("stale", !online || Date.now() - at > 15 * 60000);
    }
    const login = $("login-needed");
    if (login) login.classList.toggle("hidden", problem !== "login");
    const clockBox = $("clock-warning");
    if (clockBox) {
      const off = clock && clock.flagged;
      clockBox.classList.toggle("hidden", !off);
      if (off) {
        const minutes = Math.round(Math.abs(clock.skew_s) / 60);
        clockBox.textContent = msg("clock-off").replace("{n}", String(minutes));
      }
    }
    renderRefused();
  }

  function renderRefused() {
    const box = $("refused");
    if (!box) return;
    const items = [];
    for (const p of proofs) {
      if (p.state !== "refused" || p.dismissed) continue;
      const error = (p.answer && p.answer.error) || {};
      items.push({ kind: p.outcome === "failed" ? msg("failed-attempt") : msg("delivery"),
        code: p.code, message: error.message || "", hint: error.hint || "", proof: p });
    }
    for (const e of scans.state.log) {
      if (e.status === "rejected" && !e.dismissed) {
        items.push({ kind: msg("scan"), code: e.barcode, message: e.message || "", hint: "",
          scan: e });
      }
    }
    text("refused-count", String(items.length));
    box.classList.toggle("hidden", items.length === 0);
    const list = $("refused-list");
    if (!list) return;
    list.replaceChildren();
    for (const item of items.slice(-50).reverse()) {
      const li = document.createElement("li");
      const head = document.createElement("strong");
      head.textContent = item.kind + " " + item.code;
      const why = document.createElement("span");
      why.textContent = " — " + item.message;
      li.append(head, why);
      if (item.hint) {
        const hint = document.createElement("div");
        hint.className = "hint";
        hint.textContent = item.hint;
        li.append(hint);
      }
      if (item.proof) {
        const again = document.createElement("a");
        again.href = bar.dataset.doorUrl.replace("__CODE__", encodeURIComponent(item.code));
        again.textContent = msg("open-stop");
        li.append(" ", again);
      }
      const done = document.createElement("button");
      done.type = "button";
      done.className = "link-dark";
      done.textContent = msg("dismiss");
      done.addEventListener("click", async () => {
        if (item.proof) await Outbox.dismiss(item.proof.id);
        if (item.scan) { item.scan.dismissed = true; scans.save(); }
        changed();
      });
      li.append(" ", done);
      list.append(li);
    }
  }

  // -- a notice carried to the next page (sessionStorage), shown like a flash --------------------
  function notice(message, kind) {
    sessionStorage.setItem(NOTICE_KEY, JSON.stringify({ message, kind: kind || "" }));
  }

  function showNotice() {
    let n = null;
    try { n = JSON.parse(sessionStorage.getItem(NOTICE_KEY)); } catch (e) { /* none */ }
    sessionStorage.removeItem(NOTICE_KEY);
    if (!n || !n.message) return;
    const box = document.createElement("div");
    box.className = "flash " + (n.kind || "");
    box.setAttribute("role", "status");
    box.textContent = n.message;
    const main = document.querySelector("main");
    main.insertBefore(box, main.firstChild);
  }

  // -- start ------------------------------------------------------------------------------------
  // a different courier logged in on this phone: forget the pages kept for the last one
  const lastUser = localStorage.getItem("postal.phone.user");
  if (lastUser !== USER) {
    localStorage.setItem("postal.phone.user", USER);
    if ("caches" in window) caches.delete("postal-pages").catch(() => {});
  }

  if ("serviceWorker" in navigator && bar.dataset.sw) {
    navigator.serviceWorker.register(bar.dataset.sw, { scope: "/" }).then(() => {
      bar.dataset.swReady = "1";
    }).catch(() => { /* an insecure origin: online-only, the queue still works */ });
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data || {};
      // the worker's background sync: send the scans too, unless a sync just ran
      if (data.type === "postal-sync" && Date.now() - lastAttempt > 5000) sync();
      if (data.type === "postal-synced") changed();
    });
  }

  const syncButton = $("sync-now");
  if (syncButton) syncButton.addEventListener("click", () => { sync(); });
  window.addEventListener("online", () => { changed(); sync(); });
  window.addEventListener("offline", changed);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") sync();
  });
  setInterval(() => {
    if (scans.state.queue.length || proofs.some((p) => p.state === "queued")) sync();
    else changed(); // the data's age moves on
  }, SYNC_EVERY_MS);

  showNotice();
  render();
  window.PostalPhone = {
    user: USER, msg, on, scans, sync, addProof, notice, changed, Outbox,
    work: () => work, dataTime, proofs: () => proofs,
    ready: loadKeptWork().then(() => changed()),
  };
  window.PostalPhone.ready.then(() => sync());
})();
