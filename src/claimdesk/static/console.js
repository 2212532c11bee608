// The work queue's keyboard: j / k move between tickets, Enter opens one, x picks it, / searches, ? lists
// the shortcuts. Nothing here is needed to use the queue; links and forms work without it.
(function () {
  "use strict";
  var current = -1;

  function rows() { return document.querySelectorAll("tr.queue-row"); }

  function typing(event) {
    var target = event.target;
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function select(index) {
    var list = rows();
    if (!list.length) { return; }
    if (current >= 0 && list[current]) { list[current].classList.remove("is-current"); }
    current = Math.max(0, Math.min(list.length - 1, index));
    var row = list[current];
    row.classList.add("is-current");
    var link = row.querySelector(".queue-row__link");
    if (link) { link.focus({ preventScroll: true }); }
    row.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event)) { return; }
    var dialog = document.getElementById("shortcuts");
    if (event.key === "j") { select(current + 1); event.preventDefault(); }
    else if (event.key === "k") { select(current - 1); event.preventDefault(); }
    else if (event.key === "Enter" && current >= 0) {
      var link = rows()[current] && rows()[current].querySelector(".queue-row__link");
      if (link && document.activeElement !== link) { window.location.href = link.href; event.preventDefault(); }
    } else if (event.key === "x" && current >= 0) {
      var box = rows()[current].querySelector(".queue-row__pick");
      if (box) { box.checked = !box.checked; event.preventDefault(); }
    } else if (event.key === "/") {
      var search = document.getElementById("q");
      if (search) { search.focus(); event.preventDefault(); }
    } else if (event.key === "?" && dialog && dialog.showModal) {
      if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
      event.preventDefault();
    }
  });
  // After HTMX swaps the table, the selection starts again.
  document.addEventListener("htmx:afterSettle", function () { current = -1; });
})();
