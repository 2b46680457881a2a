/* Home delivery pages (templates/delivery/).
 *
 * The door page: a signature drawn with a finger (or a mouse) on a <canvas>, sent as a PNG data
 * URL in a hidden field; the phone's GPS fix and clock put in hidden fields of both forms; a
 * delivery needs a signature or a photo before it is sent (the server checks again). The
 * planning page: one box ticks the whole queue. The rating screen: full screen for the citizen.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);

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

  const door = $("door");
  if (!door) return;
  const msg = (name) => door.dataset["msg" + name] || name;

  // -- tabs: delivered / failed -----------------------------------------------------------
  document.querySelectorAll(".tab").forEach((tab) => {
    tab.addEventListener("click", () => {
      document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
      document.querySelectorAll(".panel").forEach((panel) => {
        panel.classList.toggle("hidden", panel.id !== tab.dataset.tab);
      });
    });
  });

  // -- GPS: one fix when the page opens, refreshed while it stays open --------------------
  const gps = $("gps");
  function setFix(position) {
    const c = position.coords;
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

  // -- the signature pad ------------------------------------------------------------------
  const canvas = $("signature-pad");
  const field = $("signature");
  const ctx = canvas.getContext("2d");
  let drawing = false;
  let signed = false;

  function fit() {
    // draw at the screen's real pixel density so the strokes stay sharp
    const ratio = window.devicePixelRatio || 1;
    const rect = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#0b1f44";
    clear();
  }

  function clear() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    signed = false;
    field.value = "";
    canvas.classList.remove("signed");
  }

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    const p = point(event);
    ctx.beginPath();
    ctx.moveTo(p.x, p.y);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    event.preventDefault();
    const p = point(event);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    signed = true;
  });
  function stop() {
    if (!drawing) return;
    drawing = false;
    if (signed) {
      field.value = canvas.toDataURL("image/png");
      canvas.classList.add("signed");
      $("proof-error").classList.add("hidden");
    }
  }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  $("clear-signature").addEventListener("click", clear);
  fit();
  window.addEventListener("resize", () => { if (!signed) fit(); });

  // -- sending: the time of the doorstep, and a proof before anything leaves the phone ----
  function stamp(form) {
    form.querySelectorAll(".moment").forEach((el) => { el.value = new Date().toISOString(); });
  }
  const photo = $("photo");
  const error = $("proof-error");
  $("done-panel").addEventListener("submit", (event) => {
    const file = photo.files && photo.files[0];
    let problem = "";
    if (!signed && !file) problem = msg("NeedProof");
    else if (file && file.size > Number(door.dataset.maxBytes)) problem = msg("TooBig");
    if (problem) {
      event.preventDefault();
      error.textContent = problem;
      error.classList.remove("hidden");
      return;
    }
    if (signed) field.value = canvas.toDataURL("image/png");
    stamp(event.target);
  });
  $("failed-panel").addEventListener("submit", (event) => stamp(event.target));
})();
