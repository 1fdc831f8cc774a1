// tally admin: draws the Chart.js charts from the JSON embedded in
// <script type="application/json" id="chart-data"> (the CSP forbids inline
// script). Pages work without this file; only the charts need it.
//
// Scales: latency buckets span four orders of magnitude, so their counts
// use a logarithmic axis (the first bucket would hide the others on a
// linear one); every count axis has integer ticks. Each canvas sits in a
// .chart-box whose CSS height bounds it on wide and narrow screens.
(function () {
  "use strict";
  var el = document.getElementById("chart-data");
  if (!el || typeof Chart === "undefined") return;
  var data = JSON.parse(el.textContent);
  Chart.defaults.animation = false;
  function bar(id, labels, datasets, opts) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    var y = { stacked: !!opts.stacked, beginAtZero: true, ticks: { precision: 0 } };
    // min 0.5: a bucket holding one request still shows a bar; labels only
    // at 1, 10, 100, ... (whole counts).
    if (opts.log) y = { type: "logarithmic", min: 0.5, ticks: { precision: 0, callback: function (v) {
      var l = Math.log10(v);
      return v >= 1 && Math.abs(l - Math.round(l)) < 1e-9 ? String(v) : "";
    } } };
    new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false,
                 scales: { x: { stacked: !!opts.stacked }, y: y } }
    });
  }
  if (data.latency) bar("chart-latency", data.latency.labels,
                        [{ label: "requests", data: data.latency.values, backgroundColor: "#2458c6" }], { log: true });
  if (data.jobs) bar("chart-jobs", data.jobs.labels,
                     [{ label: "jobs", data: data.jobs.values, backgroundColor: "#7a4cc2" }], {});
  if (data.opp_tiers) bar("chart-opp-tiers", data.opp_tiers.labels,
                          [{ label: "opportunities", data: data.opp_tiers.values, backgroundColor: "#2458c6" }], {});
  if (data.opp_hist) bar("chart-opp-hist", data.opp_hist.labels,
                         [{ label: "opportunities", data: data.opp_hist.values, backgroundColor: "#7a4cc2" }], {});
  if (data.learning_sources) bar("chart-learning-sources", data.learning_sources.labels,
                                 [{ label: "profiles", data: data.learning_sources.values, backgroundColor: "#2458c6" }], {});
  if (data.learning_segments) bar("chart-learning-segments", data.learning_segments.labels,
                                  [{ label: "profiles", data: data.learning_segments.values, backgroundColor: "#7a4cc2" }], {});
  if (data.hits) bar("chart-cache", data.labels, [
    { label: "hits", data: data.hits, backgroundColor: "#1e7a3c" },
    { label: "misses", data: data.misses, backgroundColor: "#b3261e" }
  ], { stacked: true });
})();
