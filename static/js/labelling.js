// The labelling workspace: keyboard shortcuts, focus after each swap, time spent, and drafts.
// 1–5: overall preference (A≫B … B≫A) · j: justification · Ctrl/Cmd+Enter: submit · Esc: leave text.
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
      if (el.type === "radio" || el.type === "checkbox") { if (el.checked) fields[el.name] = el.value; }
      else if (el.tagName === "TEXTAREA" || el.type === "text") { if (el.value) fields[el.name] = el.value; }
    }
    return fields;
  }

  function applyFields(f, fields) {
    for (const [name, value] of Object.entries(fields)) {
      const items = f.querySelectorAll(`[name="${CSS.escape(name)}"]`);
      for (const el of items) {
        if (el.type === "radio" || el.type === "checkbox") el.checked = el.value === value;
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
    const body = new URLSearchParams(answerFields(f));
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
    let stored = null;
    try { stored = localStorage.getItem(DRAFT_PREFIX + f.dataset.assignment); } catch (e) { return; }
    if (stored) applyFields(f, JSON.parse(stored));
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
      if (option) {
        option.checked = true;
        option.dispatchEvent(new Event("change", { bubbles: true }));
      }
      event.preventDefault();
    } else if (event.key === "j") {
      const text = f.elements.namedItem("justification");
      if (text) { text.focus(); event.preventDefault(); }
    }
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
