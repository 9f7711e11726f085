// Fastn embed script: puts a customer's integrations widget in your page (docs/WORKFLOWS.md).
//
//   <div id="integrations"></div>
//   <script src="https://console.example.com/static/widget/embed.js"></script>
//   <script>
//     var widget = Fastn.mount({
//       token: "<embed token from POST /api/v1/embed/token>",
//       container: "#integrations",            // an element or a selector
//       onEvent: function (message) { console.log(message.type); },  // optional
//     });
//     document.querySelector("#integrations")
//       .addEventListener("fastn:connection.created", function (e) { console.log(e.detail); });
//   </script>
//
// The page's origin must be listed under Settings → General → Allowed embedding origins: the
// widget refuses to be framed anywhere else (Content-Security-Policy frame-ancestors) and sends
// its messages only to those origins. Messages (fastn:ready, fastn:connection.created,
// fastn:connection.removed, fastn:close) are accepted only from the widget's own frame and
// origin, then passed to onEvent and dispatched on the container as DOM events of the same
// type. fastn:close removes the frame unless onClose is given. `origin` (optional) is the
// console's origin; by default the origin this script was loaded from. No dependency.
(function (global) {
  "use strict";
  var script = document.currentScript;
  var scriptOrigin = script && script.src ? new URL(script.src).origin : null;

  function element(container) {
    var found = typeof container === "string" ? document.querySelector(container) : container;
    if (!found) { throw new Error("Fastn.mount: container not found"); }
    return found;
  }

  function mount(options) {
    if (!options || !options.token) { throw new Error("Fastn.mount: token is required"); }
    var container = element(options.container);
    var origin = new URL(options.origin || scriptOrigin).origin;
    var iframe = document.createElement("iframe");
    var src = new URL("/widget/embed/", origin);
    src.searchParams.set("token", options.token);
    src.searchParams.set("embed_origin", global.location.origin);
    iframe.src = src.toString();
    iframe.title = options.title || "Integrations";
    iframe.style.border = "0";
    iframe.style.width = "100%";
    iframe.style.height = options.height || "560px";

    function unmount() {
      global.removeEventListener("message", receive);
      if (iframe.parentNode) { iframe.parentNode.removeChild(iframe); }
    }

    function receive(event) {
      if (event.origin !== origin || event.source !== iframe.contentWindow) { return; }
      var message = event.data;
      if (!message || typeof message.type !== "string" || message.type.indexOf("fastn:") !== 0) {
        return;
      }
      if (typeof options.onEvent === "function") { options.onEvent(message); }
      container.dispatchEvent(new CustomEvent(message.type, { detail: message }));
      if (message.type === "fastn:close") {
        if (typeof options.onClose === "function") { options.onClose(message); } else { unmount(); }
      }
    }

    global.addEventListener("message", receive);
    container.appendChild(iframe);
    return { iframe: iframe, unmount: unmount };
  }

  global.Fastn = { mount: mount };
})(window);
