// An import job's page follows its progress until it finishes, then reloads to show the result.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "1") { return; }
  var number = new Intl.NumberFormat();
  function show(data) {
    box.querySelectorAll("[data-progress]").forEach(function (el) {
      var value = data[el.dataset.progress];
      el.textContent = typeof value === "number" ? number.format(value) : (value || "");
    });
    box.querySelector("[data-progress-bar]").style.width = data.percent + "%";
    box.querySelector("[role=progressbar]").setAttribute("aria-valuenow", data.percent);
  }
  function poll() {
    fetch(box.dataset.url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        show(data);
        if (data.finished) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
