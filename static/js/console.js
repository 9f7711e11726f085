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
