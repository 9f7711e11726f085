// The Menu button of the console's top bar: below 761 px wide the side navigation folds behind it
// (console.css hides `.js .sidenav:not(.open)`). Without JavaScript the navigation stays open.
(function () {
  var button = document.querySelector(".menu-toggle");
  var nav = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) { return; }
  function show(open) {
    nav.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  button.addEventListener("click", function () { show(!nav.classList.contains("open")); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && nav.classList.contains("open")) { show(false); button.focus(); }
  });
})();

// Copy buttons: `<button type="button" data-copy="text">` copies its text and says so for a
// moment (with a fallback where the Clipboard API is not available, e.g. plain http).
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var label = b.textContent;
    b.addEventListener("click", function () {
      var done = function () {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(b.dataset.copy).then(done);
        return;
      }
      var t = document.createElement("textarea");
      t.value = b.dataset.copy;
      document.body.appendChild(t);
      t.select();
      try { document.execCommand("copy"); done(); } finally { document.body.removeChild(t); }
    });
  });
})();
