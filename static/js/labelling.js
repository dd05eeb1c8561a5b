// Keyboard shortcuts and time tracking for the pairwise labelling workspace.
// 1–5: overall preference (A≫B … B≫A) · j: justification · Ctrl/Cmd+Enter: submit · Esc: leave text.
(function () {
  "use strict";
  let shownAt = performance.now();

  function form() { return document.getElementById("task-form"); }

  function isTyping(target) {
    return target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text"));
  }

  function submitTask() {
    const f = form();
    if (!f) return;
    const spent = document.getElementById("id_time_spent_seconds");
    if (spent) spent.value = ((performance.now() - shownAt) / 1000).toFixed(1);
    f.requestSubmit();
  }

  document.addEventListener("keydown", function (event) {
    const f = form();
    if (!f) return;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      submitTask();
      return;
    }
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key >= "1" && event.key <= "5") {
      const options = f.querySelectorAll("#overall input[type=radio]");
      const option = options[Number(event.key) - 1];
      if (option) { option.checked = true; option.focus(); }
      event.preventDefault();
    } else if (event.key === "j") {
      const text = document.getElementById("id_justification");
      if (text) { text.focus(); event.preventDefault(); }
    }
  });

  // Fill time spent for mouse submissions too.
  document.addEventListener("submit", function (event) {
    if (event.target.id !== "task-form") return;
    const spent = document.getElementById("id_time_spent_seconds");
    if (spent && !spent.value) spent.value = ((performance.now() - shownAt) / 1000).toFixed(1);
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "task") {
      shownAt = performance.now();
      window.scrollTo(0, 0);
    }
  });
})();
