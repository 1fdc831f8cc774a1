// tally admin: draws the Chart.js charts from the JSON embedded in
// <script type="application/json" id="chart-data"> (the CSP forbids inline
// script). Pages work without this file; only the charts need it.
(function () {
  "use strict";
  var el = document.getElementById("chart-data");
  if (!el || typeof Chart === "undefined") return;
  var data = JSON.parse(el.textContent);
  Chart.defaults.animation = false;
  function bar(id, labels, datasets, stacked) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false,
                 scales: { x: { stacked: !!stacked }, y: { stacked: !!stacked, beginAtZero: true } } }
    });
  }
  if (data.latency) bar("chart-latency", data.latency.labels, [{ label: "requests", data: data.latency.values, backgroundColor: "#2458c6" }]);
  if (data.jobs) bar("chart-jobs", data.jobs.labels, [{ label: "jobs", data: data.jobs.values, backgroundColor: "#7a4cc2" }]);
  if (data.opp_tiers) bar("chart-opp-tiers", data.opp_tiers.labels, [{ label: "opportunities", data: data.opp_tiers.values, backgroundColor: "#2458c6" }]);
  if (data.opp_hist) bar("chart-opp-hist", data.opp_hist.labels, [{ label: "opportunities", data: data.opp_hist.values, backgroundColor: "#7a4cc2" }]);
  if (data.hits) bar("chart-cache", data.labels, [
    { label: "hits", data: data.hits, backgroundColor: "#1e7a3c" },
    { label: "misses", data: data.misses, backgroundColor: "#b3261e" }
  ], true);
})();
