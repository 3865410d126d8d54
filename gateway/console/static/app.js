// ledgerguard console: small progressive enhancement. Every page works
// without this file; with it, a verification page follows the job's
// progress and the upload form shows that the upload is under way.
(function () {
  "use strict";

  function pollJob(el) {
    var url = el.getAttribute("data-status");
    var bar = document.getElementById("verify-progress");
    var text = document.getElementById("progress-text");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
        .then(function (j) {
          if (j.stage !== undefined) { // a report being produced
            text.textContent = "Working: " + j.stage + "…";
          } else if (bar) {
            bar.value = j.percent;
            bar.textContent = j.percent + "%";
            text.textContent = j.events + " of " + j.totalEvents + " events, " + j.batches + " batches checked";
          }
          if (j.done) {
            window.location.reload();
            return;
          }
          window.setTimeout(tick, 300);
        })
        .catch(function (e) {
          text.textContent = "Could not read the progress (" + e.message + "): reload the page.";
        });
    }
    tick();
  }

  function uploadForm(form) {
    form.addEventListener("submit", function () {
      var p = document.getElementById("upload-progress");
      if (p) {
        p.removeAttribute("value"); // indeterminate while the file uploads
        p.hidden = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var job = document.getElementById("job");
    if (job && job.getAttribute("data-done") !== "true") {
      pollJob(job);
    }
    var form = document.getElementById("verify-form");
    if (form) {
      uploadForm(form);
    }
  });
})();
