// Draws the statistics pages' charts with the vendored Chart.js. Each <canvas data-chart="ID"> names the JSON
// block that holds its labels and series; the table beside it carries the same numbers (and is what a screen
// reader or a browser without scripts gets).
(function () {
  "use strict";
  var COLOURS = ["#0b57d0", "#b3261e", "#1a7f37", "#8250df", "#bc4c00", "#57606a"];

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    var spec = JSON.parse(source.textContent);
    var datasets = spec.series.map(function (series, index) {
      var colour = COLOURS[index % COLOURS.length];
      return { label: series.label, data: series.data, backgroundColor: colour, borderColor: colour,
               tension: 0.2, fill: false };
    });
    if (spec.horizontal) {  // one bar per row: tall enough to read every label on a phone
      canvas.parentNode.style.height = Math.max(12, spec.labels.length * 1.9 + 4) + "rem";
    }
    var scale = { stacked: spec.stacked, beginAtZero: true };
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        scales: { x: scale, y: scale },
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } }
      }
    });
  }

  function start() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
