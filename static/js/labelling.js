// The labelling workspace: keyboard shortcuts, focus after each swap, time spent, and drafts.
// Digits answer the highlighted question · ] / [ next / previous · j: next text box ·
// Ctrl/Cmd+Enter: submit · s: skip or flag · g: guidelines · ?: the list of keys · Esc: leave text.
// Drafts: every change is kept in localStorage (survives a lost session) and autosaved to the
// server (survives a reload or another device); the server copy is rendered into the form.
(function () {
  "use strict";
  let shownAt = performance.now();
  let saveTimer = null;
  const DRAFT_PREFIX = "prefroute-draft:";

  function form() { return document.getElementById("task-form"); }

  function isTyping(target) {
    return target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text"));
  }

  function csrfHeaders() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
  }

  function showSessionEnded() {
    const banner = document.getElementById("session-banner");
    if (banner) banner.hidden = false;
  }

  function stampTimeSpent(f) {
    const spent = f.elements.namedItem("time_spent_seconds");
    if (spent && !spent.value) spent.value = ((performance.now() - shownAt) / 1000).toFixed(1);
  }

  function submitTask() {
    const f = form();
    if (!f) return;
    stampTimeSpent(f);
    f.requestSubmit();
  }

  // ---- drafts -------------------------------------------------------------------------------
  function answerFields(f) {
    const fields = {};
    for (const el of f.elements) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.name === "time_spent_seconds") continue;
      if (el.type === "radio") { if (el.checked) fields[el.name] = el.value; }
      else if (el.type === "checkbox") { if (el.checked) (fields[el.name] = fields[el.name] || []).push(el.value); }
      else if (el.tagName === "TEXTAREA" || el.type === "text") { if (el.value) fields[el.name] = el.value; }
    }
    return fields;
  }

  function applyFields(f, fields) {
    for (const [name, value] of Object.entries(fields)) {
      const items = f.querySelectorAll(`[name="${CSS.escape(name)}"]`);
      for (const el of items) {
        if (el.type === "radio") el.checked = el.value === value;
        else if (el.type === "checkbox") el.checked = [].concat(value).indexOf(el.value) >= 0;
        else el.value = value;
      }
    }
  }

  function keepDraftLocally(f) {
    try {
      localStorage.setItem(DRAFT_PREFIX + f.dataset.assignment, JSON.stringify(answerFields(f)));
    } catch (e) { /* storage full or disabled: the server copy still works */ }
  }

  function saveDraftToServer(f) {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(answerFields(f))) {
      for (const item of [].concat(value)) body.append(name, item);
    }
    fetch(f.dataset.draftUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: Object.assign({ "HX-Request": "true" }, csrfHeaders()),
    }).then(function (response) {
      if (response.status === 401) showSessionEnded();
    }).catch(function () { /* offline: the local copy is kept */ });
  }

  function restoreLocalDraft() {
    const f = form();
    if (!f) return;
    const key = DRAFT_PREFIX + f.dataset.assignment;
    if (f.hasAttribute("data-submitted")) {
      // A submitted answer opened again shows what is stored, never an abandoned local edit.
      try { localStorage.removeItem(key); } catch (e) { /* nothing stored */ }
      return;
    }
    let stored = null;
    try { stored = localStorage.getItem(key); } catch (e) { return; }
    if (!stored) return;
    applyFields(f, JSON.parse(stored));
    // The local copy may be newer than the server's (a reload within the autosave delay).
    saveDraftToServer(f);
  }

  function forgetDraftsExcept(assignmentId) {
    try {
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const key = localStorage.key(i);
        if (key && key.startsWith(DRAFT_PREFIX) && key !== DRAFT_PREFIX + assignmentId) localStorage.removeItem(key);
      }
    } catch (e) { /* nothing stored */ }
  }

  function onAnswerChanged(event) {
    const f = form();
    if (!f || !f.contains(event.target)) return;
    keepDraftLocally(f);
    clearTimeout(saveTimer);
    saveTimer = setTimeout(function () { saveDraftToServer(f); }, 700);
  }
  document.addEventListener("input", onAnswerChanged);
  document.addEventListener("change", onAnswerChanged);

  // ---- keys ---------------------------------------------------------------------------------
  // Every control is reachable without Tab: the highlighted question is the one holding the
  // focus (a fieldset or text block with tabindex=-1); digits answer it and move on.
  function units(f) { return Array.from(f.querySelectorAll("[data-unit]")); }

  function activeUnit(f) {
    const el = document.activeElement;
    return el && f.contains(el) ? el.closest("[data-unit]") : null;
  }

  function isAnswered(unit) {
    return unit.dataset.kind === "text"
      ? !!unit.querySelector("textarea").value.trim()
      : !!unit.querySelector("input:checked");
  }

  function focusUnit(unit) {
    if (!unit) return;
    unit.focus({ preventScroll: true });
    unit.scrollIntoView({ block: "nearest" });
  }

  function moveBy(f, step) {
    const all = units(f);
    const here = all.indexOf(activeUnit(f));
    const next = here < 0 ? (step > 0 ? 0 : all.length - 1) : here + step;
    if (next >= 0 && next < all.length) focusUnit(all[next]);
  }

  function digitTarget(f) {
    const here = activeUnit(f);
    if (here && here.dataset.kind !== "text") return here;
    return units(f).find(function (u) { return u.dataset.kind !== "text" && !isAnswered(u); })
      || units(f).find(function (u) { return u.dataset.kind !== "text"; });
  }

  function optionForKey(unit, key) {
    for (const label of unit.querySelectorAll(".scale-option")) {
      const kbd = label.querySelector("kbd");
      if (kbd && kbd.textContent.trim() === key) return label.querySelector("input");
    }
    return null;
  }

  function answerWithDigit(f, key) {
    const unit = digitTarget(f);
    if (!unit) return;
    const input = optionForKey(unit, key);
    if (!input) return;
    if (input.type === "checkbox") {
      input.checked = !input.checked;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      focusUnit(unit);
      return;
    }
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    const all = units(f);
    const next = all[all.indexOf(unit) + 1];
    focusUnit(next || unit);
  }

  function focusNextText(f) {
    const current = activeUnit(f);
    if (current && current.dataset.kind === "text" && !isAnswered(current)) {
      writeIn(current.querySelector("textarea"));  // the highlighted, still empty text question
      return;
    }
    const all = units(f);
    const here = all.indexOf(current);
    const later = all.slice(here + 1).concat(all.slice(0, here + 1));
    const unit = later.find(function (u) { return u.dataset.kind === "text"; });
    if (unit) writeIn(unit.querySelector("textarea"));
  }

  function writeIn(textarea) {
    textarea.focus();
    // Continue after what is already written (a restored draft), never in front of it.
    const end = textarea.value.length;
    textarea.setSelectionRange(end, end);
  }

  function skipPanel() { return document.getElementById("skip-panel"); }

  function openSkip() {
    const panel = skipPanel();
    if (!panel) return;
    panel.hidden = false;
    panel.querySelector("[data-skip]").focus();
  }

  function closeSkip() {
    const panel = skipPanel();
    if (panel) panel.hidden = true;
    const heading = document.getElementById("task-heading");
    if (heading) heading.focus();
  }

  function toggleGuidelines() {
    const aside = document.getElementById("guidelines");
    if (aside) aside.classList.toggle("collapsed");
  }

  function toggleShortcuts() {
    const dialog = document.getElementById("shortcuts");
    if (!dialog) return;
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    const f = form();
    const dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) {
      if (event.key === "?") { event.preventDefault(); dialog.close(); }
      return;  // the dialog handles Esc itself
    }
    if (event.key === "?" && !isTyping(event.target)) { event.preventDefault(); toggleShortcuts(); return; }
    if (!f) return;
    const panel = skipPanel();
    if (panel && !panel.hidden && panel.contains(event.target)) {
      if (event.key === "Escape") { event.preventDefault(); closeSkip(); return; }
      if (isTyping(event.target)) return;
      if (event.key >= "1" && event.key <= "9") {
        const input = optionForKey(panel, event.key);
        if (input) { input.checked = true; event.preventDefault(); }
      } else if (event.key === "Enter") {
        event.preventDefault();
        panel.requestSubmit();
      }
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      submitTask();
      return;
    }
    if (isTyping(event.target)) {
      if (event.key === "Escape") {
        const unit = event.target.closest("[data-unit]");
        event.target.blur();
        if (unit) focusUnit(unit);
      }
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key >= "0" && event.key <= "9") {
      event.preventDefault();
      answerWithDigit(f, event.key);
    } else if (event.key === "]" ) {
      event.preventDefault(); moveBy(f, 1);
    } else if (event.key === "[") {
      event.preventDefault(); moveBy(f, -1);
    } else if (event.key === "j") {
      event.preventDefault(); focusNextText(f);
    } else if (event.key === "Enter") {
      const unit = activeUnit(f);
      if (unit && unit.dataset.kind === "text" && document.activeElement === unit) {
        event.preventDefault(); writeIn(unit.querySelector("textarea"));
      } else if (unit && document.activeElement === unit) {
        event.preventDefault(); moveBy(f, 1);
      }
    } else if (event.key === "s") {
      event.preventDefault(); openSkip();
    } else if (event.key === "g") {
      event.preventDefault(); toggleGuidelines();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("#skip-open")) openSkip();
    else if (event.target.closest("#skip-cancel")) closeSkip();
  });

  // Fill time spent for mouse submissions too.
  document.addEventListener("submit", function (event) {
    if (event.target.id === "task-form") stampTimeSpent(event.target);
  }, true);

  // ---- after each swap: the new item gets the focus (never its text box) ---------------------
  // afterSwap, not afterSettle: it runs right after htmx's own focus restoration, before the
  // annotator's next keys can land anywhere else.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "task") return;
    shownAt = performance.now();
    const f = form();
    forgetDraftsExcept(f ? f.dataset.assignment : "");
    restoreLocalDraft();
    const heading = document.getElementById("task-heading");
    if (heading) heading.focus();
    window.scrollTo(0, 0);
  });

  // A lost session answers 401: keep the form as it is and offer to log in again.
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 401) showSessionEnded();
  });

  // Back/Forward may restore this page from the browser's cache: fetch the current item instead.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });

  function onLoad() {
    restoreLocalDraft();
    // Never take the focus from a control the annotator has already reached.
    if (!document.activeElement || document.activeElement === document.body) {
      const target = document.getElementById("claim-button") || document.getElementById("task-heading");
      if (target) target.focus();
    }
    document.documentElement.dataset.workspaceReady = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoad);
  else onLoad();
})();
