// Starts the vendored Swagger UI 5 (displays/static/swagger/, reads OpenAPI 3.1) on /openapi.json.
// A file rather than FastAPI's inline initialiser so /docs runs under the pages' CSP.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    oauth2RedirectUrl: new URL(root.dataset.oauth2Redirect, window.location.href).href,
    layout: "BaseLayout",
    deepLinking: false, // deep links put an <a> inside each operation's toggle button (axe nested-interactive)
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis],
  });
})();
