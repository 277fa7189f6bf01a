// Starts Swagger UI on the bridge's own OpenAPI document. A file of its own rather than an
// inline script, so that the page runs under a Content-Security-Policy without 'unsafe-inline'.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    // Never send the document to swagger.io's online validator (the default).
    validatorUrl: null,
    // An API key typed into "Authorize" stays in this tab only.
    persistAuthorization: false,
  });
});
