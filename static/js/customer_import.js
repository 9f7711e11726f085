// Import customers: while an import runs, ask for its progress every two seconds, show it,
// and reload the page (with the result) once it has finished.
(function () {
  var card = document.getElementById("import-progress");
  if (!card || !window.fetch) { return; }
  var bar = card.querySelector("progress");
  var text = card.querySelector("[data-progress-text]");
  function poll() {
    fetch(card.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        if (state.finished) { window.location.reload(); return; }
        bar.max = state.total;
        bar.value = state.processed;
        text.textContent = state.processed + " of " + state.total + " rows done (" + state.percent + " %).";
      })
      .finally(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
