// zaloan: small kindnesses on top of plain HTML. Nothing here is required.
(function () {
  "use strict";
  var net = function (text) {
    var el = document.getElementById("net");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  };
  document.addEventListener("htmx:sendError", function () {
    net(document.documentElement.lang === "en" ? "No connection. Nothing was lost: try again." : "Mất kết nối. Chưa mất gì: hãy thử lại.");
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful) net("");
  });
  // Mark the current page in the menu.
  document.addEventListener("DOMContentLoaded", function () {
    var links = document.querySelectorAll(".nav a");
    for (var i = 0; i < links.length; i++) {
      if (links[i].pathname === location.pathname) links[i].setAttribute("aria-current", "page");
    }
  });
})();
