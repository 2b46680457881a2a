/* The counter's intake page: keyboard pickers, Enter moves on, CCCD QR fill, print after accept. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var CODE = /^([0-9A-Za-z]+(\.[0-9A-Za-z]+)*-[0-9]{6}-[0-9]{4,}|[A-Za-z]{2}[0-9]{9}[A-Za-z]{2}|#[0-9]+)$/;

  // The paper just issued prints from a hidden frame; the page is ready for the next citizen.
  var done = document.getElementById("done");
  var frame = document.getElementById("print-frame");
  if (done && frame && done.dataset.print) {
    frame.addEventListener("load", function () {
      try { frame.contentWindow.print(); } catch (e) { /* the print links stay on the page */ }
    });
    frame.src = done.dataset.print;
  }

  var form = document.getElementById("intake");
  if (!form) { return; }
  var $ = function (id) { return document.getElementById(id); };

  function debounce(fn, ms) {
    var timer;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; });
  }

  // A combobox: typing fetches options, ↑/↓ move, Enter picks, Esc closes.
  function combo(input, list, url, label, choose) {
    var items = [], active = -1, seq = 0;
    function close() {
      list.classList.add("hidden");
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function mark() {
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        if (i === active) {
          input.setAttribute("aria-activedescendant", li.id);
          li.scrollIntoView({ block: "nearest" });
        }
      });
    }
    function pick(i) { var d = items[i]; close(); choose(d); }
    function show(data) {
      items = data;
      active = data.length ? 0 : -1;
      list.innerHTML = "";
      data.forEach(function (d, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.textContent = label(d);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      list.classList.toggle("hidden", !data.length);
      input.setAttribute("aria-expanded", data.length ? "true" : "false");
      mark();
    }
    var load = debounce(function () {
      var q = input.value.trim(), mine = ++seq;
      if (!q || CODE.test(q) || q.indexOf("|") >= 0) { close(); return; }
      getJSON(url(q)).then(function (data) { if (mine === seq) { show(data); } });
    }, 120);
    input.addEventListener("input", load);
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("keydown", function (e) {
      var open = !list.classList.contains("hidden");
      if (!open) { return; }
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        var step = e.key === "ArrowDown" ? 1 : -1;
        active = Math.max(0, Math.min(items.length - 1, active + step));
        mark();
        e.preventDefault();
      } else if (e.key === "Escape") {
        close();
        e.preventDefault();
      } else if (e.key === "Enter" && active >= 0 && !e.ctrlKey) {
        pick(active);
        e.preventDefault();
        e.stopPropagation();
      }
    });
  }

  // Enter moves to the next field instead of submitting (scanners end with Enter).
  function fields() {
    return Array.prototype.filter.call(
      form.querySelectorAll("input:not([type=hidden]), select, textarea, button"),
      function (el) { return !el.disabled && el.offsetParent !== null; });
  }
  function focusNext(el) {
    var all = fields(), i = all.indexOf(el) + 1;
    while (i < all.length && el.type === "radio" && all[i].name === el.name) { i++; }
    if (i < all.length) { all[i].focus(); }
  }

  // The procedure: picking it loads its checklist; a scanned dossier code opens the dossier.
  var procQ = $("proc-q"), procCode = $("f-procedure_code"), checklist = $("checklist");
  function applyProcedure() {
    var info = checklist.querySelector(".proc-info");
    var home = $("f-return_home");
    if (!info || !home) { return; }
    home.disabled = info.dataset.homeReturn !== "true";
    if (home.disabled && home.checked) { form.querySelector("input[name=return_method][value=counter]").click(); }
  }
  combo(procQ, $("proc-list"),
    function (q) { return form.dataset.proceduresUrl + "?limit=10&q=" + encodeURIComponent(q); },
    function (p) { return p.code + " · " + p.name; },
    function (p) {
      procCode.value = p.code;
      procQ.value = p.code + " · " + p.name;
      fetch(form.dataset.checklistUrl.replace("__CODE__", encodeURIComponent(p.code)),
        { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          checklist.innerHTML = html;
          applyProcedure();
          var first = checklist.querySelector("input");
          (first || $("f-cccd")).focus();
        });
    });
  procQ.addEventListener("keydown", function (e) {
    var q = procQ.value.trim();
    if (e.key === "Enter" && !e.ctrlKey && CODE.test(q)) {
      e.preventDefault();
      e.stopPropagation();
      window.location.href = form.dataset.findUrl + "?q=" + encodeURIComponent(q.replace(/^#/, ""));
    }
  });

  function wardPicker(inputId, listId) {
    var input = $(inputId), target = $(input.dataset.target);
    input.addEventListener("input", function () { target.value = ""; });
    combo(input, $(listId),
      function (q) { return form.dataset.wardsUrl + "?q=" + encodeURIComponent(q); },
      function (w) { return w.name + ", " + w.province; },
      function (w) { target.value = w.code; input.value = w.name + ", " + w.province; focusNext(input); });
  }
  wardPicker("ward-q", "ward-list");
  wardPicker("dward-q", "dward-list");

  // Return method: the delivery address only for home return.
  function syncReturn() {
    var home = form.querySelector("input[name=return_method]:checked");
    $("home-fields").classList.toggle("hidden", !home || home.value !== "home");
    $("delivery-other").classList.toggle("hidden", $("f-delivery_same").checked);
  }
  form.addEventListener("change", function (e) {
    if (e.target.name === "return_method" || e.target.id === "f-delivery_same") { syncReturn(); }
  });
  syncReturn();
  applyProcedure();

  // The chip ID card's QR code, typed by the scanner into any field: fill the applicant.
  function showError(name, message) {
    var old = $(name + "-error");
    if (old) { old.remove(); }
    var input = $("f-" + name), p = document.createElement("p");
    p.className = "field-error";
    p.id = name + "-error";
    p.setAttribute("role", "alert");
    p.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.insertAdjacentElement("afterend", p);
  }
  function fillFromCard(text, field) {
    field.value = field.dataset.cccdBox ? "" : (field.dataset.before || "");
    fetch(form.dataset.cccdUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ text: text })
    }).then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) {
        var card = res[1];
        if (!res[0]) { showError("cccd", card.error.message); $("f-cccd").focus(); return; }
        $("f-full_name").value = card.full_name;
        $("f-id_number").value = card.id_number;
        $("f-street").value = card.street;
        if (card.ward) {
          $("f-ward_code").value = card.ward.code;
          $("ward-q").value = card.ward.name + ", " + card.ward.province;
        }
        var err = $("cccd-error");
        if (err) { err.remove(); }
        $("f-cccd").removeAttribute("aria-invalid");
        (card.ward ? $("f-phone") : $("f-street")).focus();
      });
  }
  function isCard(value) { return (value.match(/\|/g) || []).length >= 5; }
  var cardTimer;
  form.addEventListener("focusin", function (e) {
    if (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA") { e.target.dataset.before = e.target.value; }
  });
  form.addEventListener("input", function (e) {
    var el = e.target;
    clearTimeout(cardTimer);
    if (isCard(el.value || "")) {  // scanners that send no Enter
      cardTimer = setTimeout(function () { if (isCard(el.value)) { fillFromCard(el.value.trim(), el); } }, 300);
    }
  });

  form.addEventListener("keydown", function (e) {
    var el = e.target;
    if (e.key === "Enter" && e.ctrlKey) {
      e.preventDefault();
      form.requestSubmit($("btn-accept"));
      return;
    }
    if (e.key !== "Enter" || el.tagName === "TEXTAREA" || el.tagName === "BUTTON" || el.tagName === "A") { return; }
    e.preventDefault();
    if (isCard(el.value || "")) {
      clearTimeout(cardTimer);
      fillFromCard(el.value.trim(), el);
      return;
    }
    if (el.type === "checkbox" || el.type === "radio" || el.value || el.id !== "proc-q") { focusNext(el); }
  });

  // One submit per form: the server's idempotency key catches the rest.
  form.addEventListener("submit", function (e) {
    if (form.dataset.sent) { e.preventDefault(); return; }
    form.dataset.sent = "1";
  });
  window.addEventListener("pageshow", function () { delete form.dataset.sent; });

  var invalid = form.querySelector('[aria-invalid="true"]');
  if (invalid) { invalid.focus(); }
})();
