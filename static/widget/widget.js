// Inside the widget: tells the page that embeds it (static/widget/embed.js) what happens, with
// postMessage to that page's origin and never "*", and only when the origin is one of the
// organization's allowed embedding origins (the page's data-fastn-origins, the same list as its
// Content-Security-Policy frame-ancestors). Messages: {type: "fastn:ready", customer_id} on every
// page load, the event a redirect announced (fastn:connection.created, fastn:connection.removed),
// and {type: "fastn:close"} from the Close button shown only when embedded.
(function () {
  "use strict";
  var body = document.body;
  var allowed = (body.getAttribute("data-fastn-origins") || "").split(" ").filter(Boolean);
  if (window.parent === window || !allowed.length) { return; }
  var KEY = "fastn-embed-origin";

  function claimedOrigin() {
    // embed.js names the embedding page's origin on the first URL; later pages of the same
    // frame find it in sessionStorage. The browser itself refuses to deliver a message whose
    // targetOrigin is not the parent's real origin, so a false claim reaches nobody.
    var claimed = new URLSearchParams(window.location.search).get("embed_origin");
    try {
      if (claimed) { window.sessionStorage.setItem(KEY, claimed); }
      else { claimed = window.sessionStorage.getItem(KEY); }
    } catch (e) { /* storage refused: only the first page knows its parent */ }
    return claimed;
  }

  var ancestors = window.location.ancestorOrigins;
  var origin = ancestors && ancestors.length ? ancestors[0] : claimedOrigin();
  if (!origin || allowed.indexOf(origin) === -1) { return; }

  function send(message) { window.parent.postMessage(message, origin); }

  send({ type: "fastn:ready", customer_id: body.getAttribute("data-fastn-customer") });
  var announced = document.getElementById("fastn-announce");
  if (announced) {
    send(JSON.parse(announced.textContent));
    var url = new URL(window.location.href);
    url.searchParams.delete("fastn_event");
    window.history.replaceState(null, "", url.toString());  // a reload announces nothing
  }
  document.querySelectorAll("[data-fastn-close]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { send({ type: "fastn:close" }); });
  });
})();
