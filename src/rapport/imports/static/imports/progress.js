// An import job's page follows its progress (rows, phase, rate and time left, the first rejected
// rows) until it finishes, then reloads to show the result. Labels come translated from the page.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "1") { return; }
  var number = new Intl.NumberFormat();
  var seen = null;
  function show(data) {
    box.querySelectorAll("[data-progress]").forEach(function (el) {
      var value = data[el.dataset.progress];
      el.textContent = typeof value === "number" ? number.format(value) : (value || "");
      if (el.dataset.progress === "phase_label") { el.hidden = !value; }
    });
    var now = Date.now();
    if (seen && data.processed_rows > seen.rows) {
      var rate = (data.processed_rows - seen.rows) * 1000 / (now - seen.at);
      var left = Math.max(data.total_rows - data.processed_rows, 0) / rate;
      box.querySelector("[data-rate]").textContent = number.format(Math.round(rate)) + " " + box.dataset.labelRate + " · " +
        box.dataset.labelAbout + " " + Math.ceil(left) + " s " + box.dataset.labelLeft;
    }
    seen = {rows: data.processed_rows, at: now};
    var body = box.querySelector("[data-first-errors-body]");
    if (data.first_errors && data.first_errors.length) {
      body.textContent = "";
      data.first_errors.forEach(function (error) {
        var row = document.createElement("tr");
        [error.line, error.field, error.message].forEach(function (text) {
          var cell = document.createElement("td");
          cell.textContent = text;
          row.appendChild(cell);
        });
        body.appendChild(row);
      });
      box.querySelector("[data-first-errors]").hidden = false;
    }
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
