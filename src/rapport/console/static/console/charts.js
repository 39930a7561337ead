// Draws the Plotly figures that rapport.analytics.charts.embed leaves in data-plotly-figure
// attributes (pages load vendor/plotly.min.js before this file).
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-plotly-figure]").forEach(function (element) {
      var figure = JSON.parse(element.getAttribute("data-plotly-figure"));
      Plotly.newPlot(element, figure.data, figure.layout, figure.config);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
