// The portal's report form (templates/portal/order.html), enhanced: a line's fields show once it is
// included, and the chosen reason's explanation and whether it needs photos show under it. The form works
// the same without this file; the server checks everything either way.
(function () {
  "use strict";

  function hasErrors(line) {
    return line.querySelector(".field__error") !== null;
  }

  function showFields(line, include) {
    var fields = line.querySelector("[data-line-fields]");
    if (!fields) { return; }
    // A line with mistakes stays open, so that they stay in view.
    fields.hidden = !include.checked && !hasErrors(line);
    line.classList.toggle("report-line--included", include.checked);
  }

  function describeReason(line, select) {
    var hint = line.querySelector("[data-reason-hint]");
    var note = line.querySelector("[data-photos-note]");
    var option = select.options[select.selectedIndex];
    var chosen = option && option.value ? option : null;
    if (hint) {
      hint.textContent = "";
      if (chosen) {
        hint.appendChild(document.createTextNode(chosen.getAttribute("data-explanation") + " "));
        var strong = document.createElement("strong");
        strong.textContent = chosen.getAttribute("data-files") === "required" ? "Photos required." : "Photos optional.";
        hint.appendChild(strong);
      } else {
        hint.textContent = "Choose a reason to see what it covers and whether photos are required.";
      }
    }
    if (note) {
      note.textContent = "";
      if (chosen && chosen.getAttribute("data-files") === "required") {
        note.appendChild(document.createTextNode("; "));
        var required = document.createElement("strong");
        required.textContent = "required for this reason";
        note.appendChild(required);
      }
    }
  }

  function describeSolution(line, select) {
    var hint = line.querySelector("[data-solution-hint]");
    var option = select.options[select.selectedIndex];
    if (hint) {
      hint.textContent = option && option.value ? option.getAttribute("data-explanation") : "What you would like done.";
    }
  }

  function wire(line) {
    var include = line.querySelector("[data-include]");
    var reason = line.querySelector("[data-reason]");
    var solution = line.querySelector("[data-solution]");
    if (!include) { return; }
    showFields(line, include);
    include.addEventListener("change", function () {
      showFields(line, include);
      if (include.checked) {
        var amount = line.querySelector("input[type=number]");
        if (amount) { amount.focus(); }
      }
    });
    if (reason) {
      reason.addEventListener("change", function () { describeReason(line, reason); });
    }
    if (solution) {
      solution.addEventListener("change", function () { describeSolution(line, solution); });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var lines = document.querySelectorAll("[data-report-line]");
    for (var i = 0; i < lines.length; i++) { wire(lines[i]); }
  });
})();
