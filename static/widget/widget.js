// Inside the widget: tells the page that embeds it (static/widget/embed.js) what happens, with
// postMessage to that page's origin and never "*", and only when the origin is one of the
// organization's allowed embedding origins (the page's data-fastn-origins, the same list as its
// Content-Security-Policy frame-ancestors). Messages: {type: "fastn:ready", customer_id} on every
// page load, the event a redirect announced (fastn:connection.created, fastn:connection.removed),
// and {type: "fastn:close"} from the Close button shown only when embedded.
(function () {
  "use strict";
  // OAuth inside a frame: providers refuse to be framed, so when the widget is embedded the
  // Connect form of an OAuth connector opens in a popup window. When the flow lands back on a
  // widget page in that popup, the page hands its URL (with the event to announce) to the
  // widget frame that opened it — only when that frame is on this same origin — and closes.
  var POPUP = "fastn-oauth";
  if (window.name === POPUP && window.opener && window.opener !== window) {
    try {
      if (window.opener.location.origin === window.location.origin) {
        window.opener.location.replace(window.location.href);
        window.close();
        return;
      }
    } catch (e) { /* the opener is on another origin: stay a page of its own */ }
  }
  if (window.parent !== window) {
    document.querySelectorAll("form[data-fastn-oauth]").forEach(function (form) {
      form.addEventListener("submit", function () {
        window.open("", POPUP, "popup,width=600,height=720");
        form.target = POPUP;
      });
    });
  }
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
