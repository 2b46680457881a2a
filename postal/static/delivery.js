/* Home delivery pages (templates/delivery/).
 *
 * The door page: the recipient, their relation and, where the procedure demands it, their ID
 * card; a signature drawn with a finger on the screen (signature_pad, vendored); a photo
 * compressed on the phone (canvas to JPEG); the GPS fix and the phone's clock. Pressing the
 * button keeps the proof on the phone first (IndexedDB, phone/outbox.js), then sends it if
 * the network is there: offline, nothing is lost and nothing waits for the network. What is
 * typed and drawn is also kept as a draft for the tab, so Back or a reload loses nothing.
 * Without JavaScript the forms post as plain pages (postal/web/delivery/door.py).
 *
 * The run page: each stop shows at once what the phone recorded there and has not sent yet.
 * The planning page: one box ticks the whole queue. The rating screen: full screen for the
 * citizen.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const phone = window.PostalPhone;

  // -- planning: tick or untick the whole queue ------------------------------------------
  const all = $("check-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll('#queue input[name="codes"]').forEach((box) => {
        box.checked = all.checked;
      });
    });
  }

  // -- rating screen: turned to the citizen ----------------------------------------------
  const face = $("face-citizen");
  if (face) {
    face.addEventListener("click", () => {
      const root = document.documentElement;
      if (root.requestFullscreen) root.requestFullscreen().catch(() => {});
    });
  }

  // -- the run: what the phone recorded at each stop and has not sent yet --------------------
  const stops = $("stops");
  if (stops && phone) {
    const say = (name) => stops.dataset["msg" + name] || name;
    const overlay = () => {
      const since = phone.dataTime();
      const latest = new Map();
      for (const p of phone.proofs()) {
        if (p.dismissed) continue;
        if (p.state === "done" && !(p.answered_at > since)) continue;
        latest.set(p.code, p); // the list is in the order they were recorded
      }
      for (const li of stops.querySelectorAll("li[data-code]")) {
        const p = latest.get(li.dataset.code);
        if (!p) continue;
        const badge = li.querySelector(".status");
        const delivered = p.outcome === "delivered";
        li.classList.toggle("queued", p.state === "queued");
        if (p.state === "refused") {
          badge.textContent = say("Refused");
          badge.className = "status failed";
          continue;
        }
        badge.textContent = p.state === "queued"
          ? say(delivered ? "DeliveredQueued" : "FailedQueued")
          : say(delivered ? "Delivered" : "Failed");
        badge.className = "status " + (delivered ? "delivered" : "failed");
        li.classList.add(delivered ? "st-delivered" : "st-failed");
        const go = li.querySelector("a.button");
        if (go) go.classList.add("hidden");
      }
    };
    phone.on("change", overlay);
    phone.ready.then(overlay);
  }

  const door = $("door");
  if (!door) return;
  const msg = (name) => door.dataset["msg" + name] || name;
  const CODE = door.dataset.code;
  const DRAFT = "postal.door." + CODE;

  // -- tabs: delivered / failed -----------------------------------------------------------
  let tab = document.querySelector(".tab.active") ? document.querySelector(".tab.active").dataset.tab
    : "done-panel";
  function show(name) {
    tab = name;
    document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === name));
    document.querySelectorAll(".panel").forEach((panel) => {
      panel.classList.toggle("hidden", panel.id !== name);
    });
  }
  document.querySelectorAll(".tab").forEach((t) => {
    t.addEventListener("click", () => { show(t.dataset.tab); saveDraft(); });
  });

  // -- GPS: one fix when the page opens, refreshed while it stays open --------------------
  const gps = $("gps");
  let fix = null;
  function setFix(position) {
    const c = position.coords;
    fix = { lat: c.latitude, lon: c.longitude, accuracy_m: Math.round(c.accuracy) };
    document.querySelectorAll(".gps-lat").forEach((el) => { el.value = c.latitude; });
    document.querySelectorAll(".gps-lon").forEach((el) => { el.value = c.longitude; });
    document.querySelectorAll(".gps-acc").forEach((el) => { el.value = Math.round(c.accuracy); });
    gps.textContent = msg("GpsOk") + " (±" + Math.round(c.accuracy) + " m)";
    gps.className = "ok";
  }
  if (navigator.geolocation) {
    gps.textContent = msg("GpsWait");
    const options = { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 };
    navigator.geolocation.getCurrentPosition(setFix, () => {
      gps.textContent = msg("GpsNone");
      gps.className = "warn";
    }, options);
    navigator.geolocation.watchPosition(setFix, () => {}, options);
  } else {
    gps.textContent = msg("GpsNone");
  }

  // -- the signature pad (signature_pad) ---------------------------------------------------
  const canvas = $("signature-pad");
  const field = $("signature");
  const proofError = $("proof-error");
  const pad = new window.SignaturePad(canvas, { minWidth: 1, maxWidth: 3, penColor: "#0b1f44" });

  function signed() { return !pad.isEmpty(); }

  function fit() {
    // draw at the screen's real pixel density so the strokes stay sharp
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    const strokes = pad.toData();
    canvas.width = Math.max(1, Math.round(canvas.offsetWidth * ratio));
    canvas.height = Math.max(1, Math.round(canvas.offsetHeight * ratio));
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    if (strokes.length) pad.fromData(strokes);
  }

  pad.addEventListener("endStroke", () => {
    field.value = pad.toDataURL("image/png");
    canvas.classList.add("signed");
    proofError.classList.add("hidden");
    saveDraft();
  });
  $("clear-signature").addEventListener("click", () => {
    pad.clear();
    field.value = "";
    canvas.classList.remove("signed");
    saveDraft();
  });
  fit();
  window.addEventListener("resize", fit);

  // -- the photo, made small on the phone (canvas → JPEG) ------------------------------------
  const photoInput = $("photo");
  const photoState = $("photo-state");
  const preview = $("photo-preview");
  const MAX_BYTES = Number(door.dataset.maxBytes) || 2097152;
  const TARGET_BYTES = Math.min(MAX_BYTES, 400 * 1024); // plenty for a face and a paper
  let photo = null; // the compressed JPEG (a Blob)
  let compressing = null;

  async function decode(file) {
    if (window.createImageBitmap) {
      try { return await createImageBitmap(file, { imageOrientation: "from-image" }); } catch (e) { /* below */ }
    }
    const url = URL.createObjectURL(file);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      return img;
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  async function compress(file) {
    const image = await decode(file);
    const width = image.width, height = image.height;
    let side = 1600, quality = 0.8, blob = null;
    for (let i = 0; i < 6; i++) {
      const scale = Math.min(1, side / Math.max(width, height));
      const c = document.createElement("canvas");
      c.width = Math.max(1, Math.round(width * scale));
      c.height = Math.max(1, Math.round(height * scale));
      const ctx = c.getContext("2d");
      ctx.fillStyle = "#fff"; // a transparent PNG becomes white, not black
      ctx.fillRect(0, 0, c.width, c.height);
      ctx.drawImage(image, 0, 0, c.width, c.height);
      blob = await new Promise((resolve) => c.toBlob(resolve, "image/jpeg", quality));
      if (blob && blob.size <= TARGET_BYTES) break;
      side = Math.round(side * 0.75);
      quality = Math.max(0.5, quality - 0.1);
    }
    return blob;
  }

  photoInput.addEventListener("change", () => {
    const file = photoInput.files && photoInput.files[0];
    photo = null;
    preview.classList.add("hidden");
    if (!file) { photoState.textContent = ""; return; }
    photoState.textContent = msg("PhotoBusy");
    compressing = compress(file).then((blob) => {
      if (!blob || blob.size > MAX_BYTES) throw new Error("too big");
      photo = blob;
      photoState.textContent = msg("PhotoReady") + " (" + Math.round(blob.size / 1024) + " KB)";
      preview.src = URL.createObjectURL(blob);
      preview.classList.remove("hidden");
      proofError.classList.add("hidden");
    }).catch(() => {
      photoState.textContent = msg("PhotoBad");
    }).finally(() => { compressing = null; });
  });

  // -- the draft: what is typed and drawn survives Back and reloads --------------------------
  const inputs = ["recipient_name", "relation", "id_number", "cod_collected", "note-done",
    "note-failed"];
  function saveDraft() {
    const draft = { tab, signature: signed() ? pad.toDataURL("image/png") : "" };
    for (const id of inputs) if ($(id)) draft[id] = $(id).value;
    const reason = document.querySelector('input[name="reason"]:checked');
    draft.reason = reason ? reason.value : "";
    sessionStorage.setItem(DRAFT, JSON.stringify(draft));
  }
  function restoreDraft() {
    let draft = null;
    try { draft = JSON.parse(sessionStorage.getItem(DRAFT)); } catch (e) { /* none */ }
    if (!draft) return;
    for (const id of inputs) if ($(id) && draft[id] !== undefined) $(id).value = draft[id];
    if (draft.reason) {
      const radio = document.querySelector('input[name="reason"][value="' + draft.reason + '"]');
      if (radio) radio.checked = true;
    }
    if (draft.signature) {
      pad.fromDataURL(draft.signature, { ratio: 1, width: canvas.offsetWidth,
        height: canvas.offsetHeight }).then(() => {
        field.value = draft.signature;
        canvas.classList.add("signed");
      }).catch(() => {});
    }
    if (draft.tab) show(draft.tab);
  }
  for (const id of inputs) if ($(id)) $(id).addEventListener("input", saveDraft);
  document.querySelectorAll('input[name="reason"]').forEach((r) => r.addEventListener("change", saveDraft));
  restoreDraft();

  // -- what the phone already holds for this stop ---------------------------------------------
  const state = $("door-state");
  function showState(text, kind) {
    state.textContent = text;
    state.className = "flash " + (kind || "");
    state.classList.toggle("hidden", !text);
  }
  if (phone) {
    phone.ready.then(() => {
      const mine = phone.proofs().filter((p) => p.code === CODE && !p.dismissed);
      const last = mine[mine.length - 1];
      if (!last) return;
      if (last.state === "queued") showState(msg("QueuedHere"));
      if (last.state === "refused") {
        const e = (last.answer && last.answer.error) || {};
        showState(msg("RefusedHere") + " " + (e.message || "") + (e.hint ? " — " + e.hint : ""),
          "error");
      }
    });
  }

  // -- recording: on the phone first, then sent -----------------------------------------------
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function problemWithDelivery() {
    const name = $("recipient_name").value.trim();
    if (!name) return msg("NeedName");
    if (door.dataset.idCheck) {
      const relation = $("relation").value;
      if (relation !== "self" && relation !== "authorised") return msg("IdRelation");
      const digits = $("id_number").value.replace(/\s/g, "");
      if (!/^[0-9]{12}$/.test(digits)) return msg("NeedId");
      const last4 = door.dataset.idLast4;
      if (relation === "self" && last4 && digits.slice(-4) !== last4) return msg("IdMismatch");
    }
    if (!signed() && !photo) return msg("NeedProof");
    if (photo && photo.size > MAX_BYTES) return msg("TooBig");
    return "";
  }

  function fail(box, text) {
    box.textContent = text;
    box.classList.remove("hidden");
  }

  function busy(on) {
    $("deliver").disabled = on;
    $("fail").disabled = on;
  }

  async function record(proof, form) {
    busy(true);
    let kept;
    try {
      kept = await phone.addProof(Object.assign({
        code: CODE, item_number: door.dataset.item || null,
        run: door.dataset.run ? Number(door.dataset.run) : null,
        at: new Date().toISOString(),
      }, fix || {}, proof));
    } catch (e) {
      // no IndexedDB on this browser (a private window, say): post the page as it is
      form.querySelectorAll(".moment").forEach((el) => { el.value = new Date().toISOString(); });
      HTMLFormElement.prototype.submit.call(form);
      return;
    }
    const errorBox = form.querySelector(".field-error");
    sessionStorage.removeItem(DRAFT);
    showState(msg("Sending"));
    if (navigator.onLine) await Promise.race([phone.sync(), sleep(12000)]);
    const now = await phone.Outbox.get(kept.id);
    if (now && now.state === "refused") {
      // the courier is at the door: say why here, and let them put it right
      await phone.Outbox.dismiss(kept.id);
      const e = (now.answer && now.answer.error) || {};
      showState("");
      busy(false);
      fail(errorBox, (e.message || "") + (e.hint ? " — " + e.hint : ""));
      saveDraft();
      return;
    }
    if (now && now.state === "done") {
      const attempt = (now.answer && now.answer.attempt) || {};
      phone.notice(proof.outcome === "delivered"
        ? msg("Delivered").replace("{code}", CODE)
          .replace("{name}", attempt.recipient_name || proof.recipient_name)
        : msg("Failed").replace("{code}", CODE));
    } else {
      phone.notice(msg("Kept").replace("{code}", CODE));
    }
    location.assign(door.dataset.after);
  }

  $("done-panel").addEventListener("submit", async (event) => {
    if (!phone) return; // no outbox: the form posts as a plain page
    event.preventDefault();
    if (compressing) await compressing;
    const problem = problemWithDelivery();
    if (problem) { fail(proofError, problem); return; }
    proofError.classList.add("hidden");
    const cod = $("cod_collected");
    await record({
      outcome: "delivered",
      recipient_name: $("recipient_name").value.trim(), relation: $("relation").value,
      id_number: $("id_number") ? $("id_number").value.replace(/\s/g, "") : null,
      signature: signed() ? pad.toDataURL("image/png") : null, photo,
      cod_collected: cod && cod.value !== "" ? Number(cod.value) : null,
      note: $("note-done").value.trim() || null,
    }, event.target);
  });

  $("failed-panel").addEventListener("submit", async (event) => {
    if (!phone) return;
    event.preventDefault();
    const errorBox = $("fail-error");
    const reason = document.querySelector('input[name="reason"]:checked');
    const note = $("note-failed").value.trim();
    if (!reason) { fail(errorBox, msg("NeedReason")); return; }
    if (reason.value === "other" && !note) { fail(errorBox, msg("NeedNote")); return; }
    errorBox.classList.add("hidden");
    await record({ outcome: "failed", reason: reason.value, note: note || null }, event.target);
  });
})();
