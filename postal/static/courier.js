/* The courier's scanner (templates/home/courier.html).
 *
 * Scans come from a keyboard-wedge scanner (input + Enter), the camera (BarcodeDetector, where
 * the browser has it) or typing. Each scan gets a UUID and is written to localStorage before
 * anything is sent; the queue is synced to POST /api/v1/scans whenever the network is there.
 * A scan leaves the queue only when the server has answered for its id, and the server stores
 * an id once, so a scan is never lost and never counted twice.
 */
(function () {
  "use strict";

  const root = document.getElementById("scanner");
  if (!root) return;

  const URL_SCANS = root.dataset.scansUrl;
  const KEY = "postal.scans." + root.dataset.user;
  const MODE_KEY = "postal.scan-mode";
  const BATCH = 500; // the server takes up to 1000 events a request
  const LOG_MAX = 300;
  const AGAIN_MS = 12 * 3600 * 1000; // the same item, same action, within this: a re-scan
  const SYNC_EVERY_MS = 10000;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const input = $("barcode");

  function msg(name) {
    return root.dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)] || name;
  }

  // -- what a barcode may be (mirrors postal/domain/codes.py) --------------------------------
  const S10_WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7];
  const UNIT = "[0-9A-Za-z]+(?:\\.[0-9A-Za-z]+)*";
  const DOSSIER = new RegExp("^" + UNIT + "-[0-9]{6}-[0-9]{4,}$");
  const MANIFEST = new RegExp("^BK-" + UNIT + "-[0-9]{6}-[0-9]{3,}$");

  function isS10(text) {
    if (!/^[A-Z]{2}[0-9]{9}[A-Z]{2}$/.test(text)) return false;
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += S10_WEIGHTS[i] * Number(text.charAt(2 + i));
    let check = 11 - (sum % 11);
    if (check === 10) check = 0;
    else if (check === 11) check = 5;
    return check === Number(text.charAt(10));
  }

  function normalise(raw) {
    const text = String(raw || "").trim();
    if (isS10(text.toUpperCase())) return text.toUpperCase();
    if (text.length <= 80 && (MANIFEST.test(text) || DOSSIER.test(text))) return text;
    return null;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; getRandomValues does not (phones on http LAN)
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
      h.slice(16, 20) + "-" + h.slice(20);
  }

  // -- the device's queue and log ------------------------------------------------------------
  function load() {
    try {
      const s = JSON.parse(localStorage.getItem(KEY));
      if (s && Array.isArray(s.queue) && Array.isArray(s.log)) return s;
    } catch (e) { /* a damaged entry: start afresh */ }
    return { queue: [], log: [] };
  }
  let state = load();

  function save() {
    localStorage.setItem(KEY, JSON.stringify(state));
  }

  // another tab of the same user synced or scanned: take its view
  window.addEventListener("storage", (e) => {
    if (e.key === KEY) { state = load(); render(); }
  });

  // -- feedback: a big mark, the reason, a beep (WebAudio, no sound files) --------------------
  let audio = null;
  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tones = ok ? [[880, 0, 0.12]] : [[220, 0, 0.18], [220, 0.26, 0.18]];
      for (const [freq, start, length] of tones) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = ok ? "sine" : "square";
        osc.frequency.value = freq;
        gain.gain.value = 0.15;
        osc.connect(gain);
        gain.connect(audio.destination);
        const t = audio.currentTime + start;
        osc.start(t);
        osc.stop(t + length);
      }
    } catch (e) { /* no audio on this device */ }
  }

  function feedback(kind, text) {
    const box = $("feedback");
    box.className = "feedback " + kind;
    $("feedback-mark").textContent = kind === "bad" ? "✗" : (kind === "queued" ? "⏳" : "✓");
    $("feedback-text").textContent = text;
  }

  function mode() {
    const checked = document.querySelector('input[name="mode"]:checked');
    const [event, kind] = (checked ? checked.value : "pickup:folder").split(":");
    const label = checked ? checked.parentElement.textContent.trim() : event;
    return { event, kind, label };
  }

  // -- scanning --------------------------------------------------------------------------------
  let current = null; // the id of the latest scan, whose verdict is announced

  function handle(raw) {
    const code = normalise(raw);
    if (!code) {
      feedback("bad", msg("invalid") + ": " + String(raw).trim());
      beep(false);
      return;
    }
    const m = mode();
    const now = Date.now();
    const again = state.log.some((e) => e.barcode === code && e.event === m.event &&
      e.item_kind === m.kind && e.status !== "rejected" && now - Date.parse(e.at) < AGAIN_MS);
    if (again) {
      feedback("bad", msg("again") + ": " + code);
      beep(false);
      return;
    }
    const scan = { id: uuid(), barcode: code, event: m.event, at: new Date(now).toISOString(),
      item_kind: m.kind };
    state.queue.push(scan);
    state.log.push(Object.assign({ status: "pending", label: m.label }, scan));
    if (state.log.length > LOG_MAX) {
      state.log = state.log.filter((e, i) => e.status === "pending" ||
        i >= state.log.length - LOG_MAX);
    }
    save(); // on the device before anything goes on the network
    current = scan.id;
    feedback("queued", code + " — " + msg("queued"));
    beep(true);
    render();
    sync();
  }

  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = input.value;
    input.value = "";
    if (value.trim()) handle(value);
    input.focus();
  });

  // -- syncing ---------------------------------------------------------------------------------
  let syncing = false;
  let oneByOne = false; // after a 422, find the malformed event by sending singly

  function settle(results) {
    const byId = new Map(results.map((r) => [r.id, r]));
    state.queue = state.queue.filter((s) => !byId.has(s.id));
    let ok = 0, bad = 0;
    for (const entry of state.log) {
      const r = byId.get(entry.id);
      if (!r) continue;
      entry.status = r.status;
      entry.message = r.error ? r.error.message : msg(r.status);
      if (r.status === "rejected") bad++; else ok++;
      if (entry.id === current) {
        feedback(r.status === "rejected" ? "bad" : "ok", entry.barcode + " — " + entry.message);
        if (r.status === "rejected") beep(false);
      }
    }
    save();
    return { ok, bad };
  }

  async function sync() {
    if (syncing || !state.queue.length || !navigator.onLine) { render(); return; }
    syncing = true;
    try {
      while (state.queue.length) {
        const batch = state.queue.slice(0, oneByOne ? 1 : BATCH);
        let response;
        try {
          response = await fetch(URL_SCANS, {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Accept": "application/json",
              "X-CSRFToken": csrf },
            body: JSON.stringify(batch),
          });
        } catch (e) {
          break; // offline again: everything stays queued
        }
        if (response.status === 422) {
          if (batch.length > 1) { oneByOne = true; continue; }
          const body = await response.json().catch(() => ({}));
          const why = (body.error && body.error.message) || msg("invalid");
          settle([{ id: batch[0].id, status: "rejected", error: { message: why } }]);
          continue;
        }
        if (response.status === 400 || response.status === 401 || response.status === 403) {
          feedback("bad", msg("login"));
          break;
        }
        if (!response.ok) break; // the server is unwell: try again later
        settle(await response.json());
        if (oneByOne && batch.length === 1) oneByOne = state.queue.length > 0;
      }
    } finally {
      syncing = false;
      render();
    }
  }

  // -- the page ----------------------------------------------------------------------------------
  const MARKS = { accepted: "✓", duplicate: "✓", rejected: "✗", pending: "⏳" };

  function render() {
    $("pending").textContent = String(state.queue.length);
    root.classList.toggle("has-pending", state.queue.length > 0);
    const done = state.log.filter((e) => e.status === "accepted" || e.status === "duplicate");
    $("count-ok").textContent = String(done.length);
    $("count-bad").textContent = String(state.log.filter((e) => e.status === "rejected").length);
    $("count-all").textContent = String(state.log.length);
    const net = $("net");
    net.textContent = navigator.onLine ? msg("online") : msg("offline");
    net.classList.toggle("offline", !navigator.onLine);
    const list = $("log");
    list.replaceChildren();
    for (const entry of state.log.slice(-100).reverse()) {
      const li = document.createElement("li");
      li.className = "st-" + entry.status;
      li.dataset.id = entry.id;
      const mark = document.createElement("span");
      mark.className = "mark";
      mark.textContent = MARKS[entry.status] || "?";
      const code = document.createElement("span");
      code.className = "mono";
      code.textContent = entry.barcode;
      const info = document.createElement("span");
      info.className = "muted";
      const time = new Date(entry.at).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
      info.textContent = " · " + (entry.label || entry.event) + " · " + time +
        (entry.message ? " · " + entry.message : "");
      li.append(mark, " ", code, info);
      list.append(li);
    }
  }

  $("sync-now").addEventListener("click", () => { oneByOne = false; sync(); input.focus(); });
  $("clear-log").addEventListener("click", () => {
    state.log = state.log.filter((e) => e.status === "pending");
    save();
    render();
    input.focus();
  });
  window.addEventListener("online", () => { render(); sync(); });
  window.addEventListener("offline", render);
  setInterval(sync, SYNC_EVERY_MS);

  // -- the chosen action survives reloads ------------------------------------------------------
  const saved = localStorage.getItem(MODE_KEY);
  const savedInput = saved && document.querySelector('input[name="mode"][value="' + saved + '"]');
  if (savedInput) savedInput.checked = true;
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => {
      localStorage.setItem(MODE_KEY, radio.value);
      input.focus();
    });
  }

  // -- camera, where the browser can read barcodes ---------------------------------------------
  const camera = $("camera");
  const video = $("video");
  let stream = null, detector = null, last = { value: null, at: 0 };

  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.classList.add("hidden");
  }

  function look() {
    if (!stream) return;
    detector.detect(video).then((codes) => {
      for (const c of codes) {
        const now = Date.now();
        if (c.rawValue === last.value && now - last.at < 2500) continue;
        last = { value: c.rawValue, at: now };
        handle(c.rawValue);
      }
    }).catch(() => {}).finally(() => { if (stream) setTimeout(look, 250); });
  }

  if ("BarcodeDetector" in window) {
    camera.classList.remove("hidden");
    camera.addEventListener("click", async () => {
      if (stream) { stopCamera(); return; }
      try {
        const wanted = ["code_128", "qr_code", "code_39", "data_matrix", "ean_13"];
        const formats = (await window.BarcodeDetector.getSupportedFormats())
          .filter((f) => wanted.includes(f));
        detector = new window.BarcodeDetector(formats.length ? { formats } : {});
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        video.classList.remove("hidden");
        await video.play();
        look();
      } catch (e) {
        stopCamera();
        feedback("bad", msg("cameraOff"));
      }
    });
  }

  render();
  sync();
})();
