// Progressive enhancement only: every page works without this file.
// Adds a working "Copy" button beside each citation (the buttons are hidden without script).
document.addEventListener("DOMContentLoaded", function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("button.copy").forEach(function (button) {
    var source = button.parentElement.querySelector("[data-copy-source]");
    if (!source) return;
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.textContent = button.dataset.copied;
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });
  // On a phone the facets start folded, so results come first.
  if (window.matchMedia("(max-width: 50rem)").matches) {
    document.querySelectorAll("details.facet").forEach(function (d) { d.open = false; });
  }
});

// The drafting page: a finding's link takes the cursor to its line; leaving with unsaved text
// asks first; unsaved text is kept in this browser (localStorage) until the draft is saved, and
// offered back when the page is opened again.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-draft]");
  if (!form) return;
  var editors = ["report", "action_plan"].map(function (id) { return document.getElementById(id); });
  document.querySelectorAll("a[data-line]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var editor = document.getElementById(link.dataset.part);
      if (!editor) return;
      event.preventDefault();
      var line = parseInt(link.dataset.line, 10), at = 0;
      for (var i = 1; i < line; i++) {
        var next = editor.value.indexOf("\n", at);
        if (next < 0) break;
        at = next + 1;
      }
      var end = editor.value.indexOf("\n", at);
      editor.focus();
      editor.setSelectionRange(at, end < 0 ? editor.value.length : end);
      var lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 20;
      editor.scrollTop = Math.max(0, (line - 3) * lineHeight);
    });
  });
  if (editors.some(function (e) { return !e || e.readOnly; })) return;
  var key = "mmr-draft-" + form.dataset.draft;
  var savedAt = form.dataset.savedAt || "";
  var dirty = false;
  var store = null;
  try { store = window.localStorage; } catch (e) { store = null; }
  var kept = null;
  try { kept = store && JSON.parse(store.getItem(key) || "null"); } catch (e) { kept = null; }
  if (kept && kept.base === savedAt && (kept.report !== editors[0].value || kept.plan !== editors[1].value)) {
    var note = document.querySelector("[data-restore-note]");
    note.hidden = false;
    note.querySelector("[data-restore]").addEventListener("click", function () {
      editors[0].value = kept.report;
      editors[1].value = kept.plan;
      dirty = true;
      note.hidden = true;
      editors[0].focus();
    });
  } else if (store && kept && kept.base !== savedAt) {
    store.removeItem(key);
  }
  var timer = null;
  editors.forEach(function (editor) {
    editor.addEventListener("input", function () {
      dirty = true;
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (store) store.setItem(key, JSON.stringify({ base: savedAt, report: editors[0].value, plan: editors[1].value }));
      }, 500);
    });
  });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = form.dataset.leave || "";
  });
  var drop = form.querySelector("input.drop");
  if (drop) {
    ["dragenter", "dragover"].forEach(function (t) { drop.addEventListener(t, function () { drop.classList.add("over"); }); });
    ["dragleave", "drop"].forEach(function (t) { drop.addEventListener(t, function () { drop.classList.remove("over"); }); });
  }
});
