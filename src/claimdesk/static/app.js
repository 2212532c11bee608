// claimdesk web UI: the few things pages do in the browser. No inline scripts anywhere (the CSP forbids
// them); everything is wired here through data- attributes, and every page works without this file.
(function () {
  "use strict";

  var relative = typeof Intl !== "undefined" && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" })
    : null;
  var exact = typeof Intl !== "undefined"
    ? new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    })
    : null;

  var UNITS = [
    ["year", 365 * 86400], ["month", 30 * 86400], ["week", 7 * 86400],
    ["day", 86400], ["hour", 3600], ["minute", 60]
  ];

  // "3 hr. ago" / "in 2 days" in the viewer's language, the exact local time (with zone) on hover.
  function describe(date, now) {
    var seconds = Math.round((date.getTime() - now) / 1000);
    var size = Math.abs(seconds);
    // Under a minute, Intl would say "this minute" (a count of 0 minutes).
    if (size < 60) { return "just now"; }
    for (var i = 0; i < UNITS.length; i++) {
      if (size >= UNITS[i][1]) {
        return relative.format(Math.trunc(seconds / UNITS[i][1]), UNITS[i][0]);
      }
    }
    return relative.format(Math.trunc(seconds / 60), "minute");
  }

  function refreshTimes(root) {
    if (!relative || !exact) { return; }
    var now = Date.now();
    var nodes = (root || document).querySelectorAll("time[data-relative]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var date = new Date(node.getAttribute("datetime"));
      if (isNaN(date.getTime())) { continue; }
      node.textContent = (node.getAttribute("data-prefix") || "") + describe(date, now);
      node.title = exact.format(date);
    }
  }

  // A refused form's error summary takes the focus, so that screen readers announce it (GOV.UK pattern).
  function focusSummary() {
    var summary = document.querySelector("[data-autofocus]");
    if (summary) { summary.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    refreshTimes(document);
    focusSummary();
    window.setInterval(function () { refreshTimes(document); }, 60000);
  });
  // Content swapped in by HTMX gets the same treatment.
  document.addEventListener("htmx:afterSettle", function (event) { refreshTimes(event.target); });
})();
