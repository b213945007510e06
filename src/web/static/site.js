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
