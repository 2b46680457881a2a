/* The courier's scanner (templates/home/courier.html), over phone/shell.js.
 *
 * Scans come from a keyboard-wedge scanner (input + Enter), the camera (BarcodeDetector where
 * the browser has it, else ZXing, vendored under static/vendor/zxing), typing, or the "To
 * collect" list. Each scan gets a UUID and goes into the phone's queue (localStorage) before
 * anything is sent; the shell sends the queue whenever the network is there. A scan leaves
 * the queue only when the server has answered for its id, and the server stores an id once,
 * so a scan is never lost and never counted twice.
 *
 * The lists follow the queue at once: "In my hands" adds what was picked up and drops what
 * was handed over or delivered, "To collect" marks what was taken, before the server knows.
 */
(function () {
  "use strict";

  const root = document.getElementById("scanner");
  const phone = window.PostalPhone;
  if (!root || !phone) return;

  const MODE_KEY = "postal.scan-mode";
  const AGAIN_MS = 12 * 3600 * 1000; // the same item, same action, within this: a re-scan
  const $ = (id) => document.getElementById(id);
  const input = $("barcode");
  const scans = phone.scans;

  function msg(name) {
    return root.dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)] || phone.msg(name);
  }

  // -- what a barcode may be (mirrors postal/core/codes.py) ---------------------------------
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
    $("feedback").className = "feedback " + kind;
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

  function handle(raw, chosen) {
    const code = normalise(raw);
    if (!code) {
      feedback("bad", msg("invalid") + ": " + String(raw).trim());
      beep(false);
      return;
    }
    const m = chosen || mode();
    const now = Date.now();
    const again = scans.state.log.some((e) => e.barcode === code && e.event === m.event &&
      (e.item_kind || "") === (m.kind || "") && e.status !== "rejected" &&
      now - Date.parse(e.at) < AGAIN_MS);
    if (again) {
      feedback("bad", msg("again") + ": " + code);
      beep(false);
      return;
    }
    const scan = { id: phone.Outbox.uuid(), barcode: code, event: m.event,
      at: new Date(now).toISOString() };
    if (m.kind) scan.item_kind = m.kind;
    current = scan.id;
    scans.add(scan, { label: m.label });
    feedback("queued", code + " — " + msg("queued"));
    beep(true);
    phone.sync();
  }

  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = input.value;
    input.value = "";
    if (value.trim()) handle(value);
    input.focus();
  });

  phone.on("scans", (results) => {
    const mine = results.find((r) => r.id === current);
    if (!mine) return;
    const entry = scans.state.log.find((e) => e.id === current) || {};
    const rejected = entry.status === "rejected";
    feedback(rejected ? "bad" : "ok", entry.barcode + " — " + (entry.message || msg(entry.status)));
    if (rejected) beep(false);
  });

  // -- the lists, from the work kept and the queue ---------------------------------------------
  function known(work) {
    const items = new Map(); // number -> {number, dossier_code, kind}
    const manifests = new Map(); // code -> [items]
    const byDossier = new Map(); // dossier code + kind -> item
    const add = (item) => {
      items.set(item.number, item);
      byDossier.set(item.dossier_code + "/" + item.kind, item);
    };
    for (const m of work.to_collect.manifests) {
      manifests.set(m.code, m.items);
      m.items.forEach(add);
    }
    for (const r of work.to_collect.results) add({ number: r.number, dossier_code: r.dossier_code, kind: "result" });
    for (const h of work.holding) add(h);
    for (const run of work.runs) {
      for (const s of run.stops) {
        if (s.item_number) add({ number: s.item_number, dossier_code: s.code, kind: "result" });
      }
    }
    return { items, manifests, byDossier };
  }

  function targets(entry, index) {
    const code = entry.barcode;
    if (index.manifests.has(code)) return index.manifests.get(code);
    if (index.items.has(code)) return [index.items.get(code)];
    const kind = entry.item_kind || (["out_for_delivery", "delivered"].includes(entry.event)
      ? "result" : "folder");
    const item = index.byDossier.get(code + "/" + kind);
    return [item || { number: code, dossier_code: "", kind }];
  }

  /** What is in my hands: the server's list, then every scan and proof it does not know yet. */
  function holdingNow(work) {
    const index = known(work);
    const held = new Map(work.holding.map((h) => [h.number, Object.assign({}, h)]));
    const since = phone.dataTime();
    for (const e of scans.state.log) {
      const fresh = e.status === "pending" || (e.status !== "rejected" && e.settled_at > since);
      if (!fresh) continue;
      for (const item of targets(e, index)) {
        if (e.event === "pickup" || e.event === "out_for_delivery") {
          held.set(item.number, Object.assign({}, item, { pending: e.status === "pending",
            held_since: e.at }));
        } else if (["handover", "delivered", "collected"].includes(e.event)) {
          held.delete(item.number);
        }
      }
    }
    for (const p of phone.proofs()) {
      const fresh = p.state === "queued" || (p.state === "done" && p.answered_at > since);
      if (!fresh || p.outcome !== "delivered" || !p.item_number) continue;
      held.delete(p.item_number);
    }
    return [...held.values()];
  }

  function renderLists() {
    const work = phone.work();
    if (!work) return;
    const held = holdingNow(work);
    $("holding-count").textContent = String(held.length);
    const list = $("holding-list");
    list.replaceChildren();
    for (const item of held) {
      const li = document.createElement("li");
      li.className = "mono" + (item.pending ? " pending" : "");
      li.dataset.number = item.number;
      const when = item.held_since ? new Date(item.held_since).toLocaleString("vi-VN",
        { hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit",
          timeZone: "Asia/Ho_Chi_Minh" }) : "";
      li.textContent = [item.number, item.dossier_code, when].filter(Boolean).join(" · ") +
        (item.pending ? " ⏳ " + msg("pendingMark") : "");
      list.append(li);
    }
    if (!held.length) {
      const li = document.createElement("li");
      li.textContent = msg("noneHeld");
      list.append(li);
    }
    // "To collect": what was taken since, marked
    const taken = new Map();
    for (const e of scans.state.log) {
      if (e.event === "pickup" && e.status !== "rejected") taken.set(e.barcode, e.status);
    }
    for (const li of document.querySelectorAll("#collect-list .collect")) {
      const status = taken.get(li.dataset.barcode);
      li.classList.toggle("taken", Boolean(status));
      li.querySelector(".collect-state").textContent = status
        ? (status === "pending" ? "⏳ " + msg("pendingMark") : "✓ " + msg("collected")) : "";
    }
  }

  for (const button of document.querySelectorAll(".collect-scan")) {
    button.addEventListener("click", () => {
      const li = button.closest(".collect");
      handle(li.dataset.barcode, { event: "pickup", kind: li.dataset.kind || "",
        label: button.textContent.trim() });
    });
  }

  // -- the log ---------------------------------------------------------------------------------
  const MARKS = { accepted: "✓", duplicate: "✓", rejected: "✗", pending: "⏳" };

  function renderLog() {
    const log = scans.state.log;
    const done = log.filter((e) => e.status === "accepted" || e.status === "duplicate");
    $("count-ok").textContent = String(done.length);
    $("count-bad").textContent = String(log.filter((e) => e.status === "rejected").length);
    $("count-all").textContent = String(log.length);
    const list = $("log");
    list.replaceChildren();
    for (const entry of log.slice(-100).reverse()) {
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
      const time = new Date(entry.at).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit",
        timeZone: "Asia/Ho_Chi_Minh" });
      info.textContent = " · " + (entry.label || entry.event) + " · " + time +
        (entry.message ? " · " + entry.message : "");
      li.append(mark, " ", code, info);
      list.append(li);
    }
  }

  phone.on("change", () => { renderLog(); renderLists(); });

  $("clear-log").addEventListener("click", () => {
    scans.state.log = scans.state.log.filter((e) => e.status === "pending");
    scans.save();
    phone.changed();
    input.focus();
  });

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

  // -- camera: BarcodeDetector where the browser has it, else ZXing ----------------------------
  const camera = $("camera");
  const video = $("video");
  let stream = null, detector = null, zxing = null, last = { value: null, at: 0 };

  function seen(value) {
    const now = Date.now();
    if (value === last.value && now - last.at < 2500) return;
    last = { value, at: now };
    handle(value);
  }

  function stopCamera() {
    if (zxing) { zxing.stop(); zxing = null; }
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.classList.add("hidden");
  }

  function look() {
    if (!stream) return;
    detector.detect(video).then((codes) => { for (const c of codes) seen(c.rawValue); })
      .catch(() => {}).finally(() => { if (stream) setTimeout(look, 250); });
  }

  function loadZxing() {
    if (window.ZXingBrowser) return Promise.resolve(window.ZXingBrowser);
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = root.dataset.zxing;
      script.onload = () => resolve(window.ZXingBrowser);
      script.onerror = reject;
      document.head.append(script);
    });
  }

  async function startCamera() {
    const constraints = { video: { facingMode: "environment" } };
    if ("BarcodeDetector" in window) {
      const wanted = ["code_128", "qr_code", "code_39", "data_matrix", "ean_13"];
      const formats = (await window.BarcodeDetector.getSupportedFormats())
        .filter((f) => wanted.includes(f));
      detector = new window.BarcodeDetector(formats.length ? { formats } : {});
      stream = await navigator.mediaDevices.getUserMedia(constraints);
      video.srcObject = stream;
      video.classList.remove("hidden");
      await video.play();
      look();
      return;
    }
    const ZX = await loadZxing();
    const reader = new ZX.BrowserMultiFormatReader();
    video.classList.remove("hidden");
    zxing = await reader.decodeFromConstraints(constraints, video, (result) => {
      if (result) seen(result.getText());
    });
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    camera.classList.add("hidden");
  } else {
    camera.addEventListener("click", async () => {
      if (stream || zxing) { stopCamera(); return; }
      try {
        await startCamera();
      } catch (e) {
        stopCamera();
        feedback("bad", msg("cameraOff"));
      }
    });
  }

  renderLog();
  renderLists();
})();
