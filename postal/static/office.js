// The import page: poll the job's status and move the progress bar until it ends.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("import-progress");
  var stage = document.getElementById("import-stage");
  var list = document.getElementById("import-errors");
  var names = { queued: "Đang chờ…", validate: "Đang kiểm tra", "import": "Đang ghi" };

  function show(job) {
    if (job.total) { bar.max = job.total; }
    bar.value = job.done;
    if (job.stage === "confirm") {  // the page, rendered again, lists what would be created
      if (box.getAttribute("data-stage") !== "confirm") { window.location.reload(); }
      return true;
    }
    if (job.stage === "done") {
      stage.textContent = "Đã nhập " + job.dossiers + " hồ sơ.";
      bar.value = bar.max;
    } else if (job.stage === "failed") {
      stage.textContent = job.message;
      list.textContent = "";
      job.errors.forEach(function (e) {
        var li = document.createElement("li");
        li.textContent = "dòng " + e.line + ", cột " + (e.column || "—") + ": " + e.message;
        list.appendChild(li);
      });
    } else {
      stage.textContent = (names[job.stage] || job.stage) + ": " + job.done +
        (job.total ? " / " + job.total : "") + " dòng";
    }
    return job.finished;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) { if (!show(job)) { setTimeout(poll, 700); } })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
