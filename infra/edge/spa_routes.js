// The shop is a single-page app: console pages (/admin, /admin/sales/{id}, ...)
// are index.html, which routes them in the browser. Nothing under /admin is a
// file (assets live under /assets, and sale ids may contain dots), so every
// /admin path is rewritten; all else passes through. Viewer request, before the cache.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === "/admin" || uri.indexOf("/admin/") === 0) {
    request.uri = "/index.html";
  }
  return request;
}
