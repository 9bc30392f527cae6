/* Notices on this phone (Web Push), on the notification settings page only. The page works without it. */
(function () {
  "use strict";
  var box = document.getElementById("push");
  if (!box || !box.dataset.vapidKey) return;
  var on = box.querySelector(".push-on"), off = box.querySelector(".push-off");
  var state = box.querySelector(".push-state"), nojs = box.querySelector(".push-nojs");
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.fetch) {
    nojs.textContent = box.dataset.unsupported;
    return;
  }
  nojs.hidden = true;
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];

  function bytes(b64) {
    var raw = atob((b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function b64(buf) {
    return btoa(String.fromCharCode.apply(null, new Uint8Array(buf)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  var count = box.querySelector(".push-count");
  // The new state replaces the count the page was drawn with, which no longer holds.
  function say(text) { state.hidden = false; state.textContent = text; if (count) count.hidden = true; }
  function show(sub) { on.hidden = !!sub; off.hidden = !sub; }
  function post(url, sub, withKeys) {
    var body = new FormData();
    body.append("endpoint", sub.endpoint);
    if (withKeys) {
      body.append("p256dh", b64(sub.getKey("p256dh")));
      body.append("auth", b64(sub.getKey("auth")));
    }
    return fetch(url, {method: "POST", body: body, credentials: "same-origin", headers: {"X-CSRFToken": csrf}})
      .then(function (r) { return r.text().then(function (t) { if (!r.ok) throw new Error(t); return t; }); });
  }

  navigator.serviceWorker.register(box.dataset.worker).then(function (reg) {
    reg.pushManager.getSubscription().then(show);
    on.addEventListener("click", function () {
      on.disabled = true;
      Notification.requestPermission().then(function (answer) {
        if (answer !== "granted") throw new Error(box.dataset.denied);
        return reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: bytes(box.dataset.vapidKey)});
      }).then(function (sub) {
        return post(box.dataset.subscribe, sub, true).then(function (text) { say(text); show(sub); });
      }).catch(function (err) { say(err.message || box.dataset.failed); }).then(function () { on.disabled = false; });
    });
    off.addEventListener("click", function () {
      off.disabled = true;
      reg.pushManager.getSubscription().then(function (sub) {
        if (!sub) return show(null);
        return post(box.dataset.unsubscribe, sub, false).then(function (text) {
          return sub.unsubscribe().then(function () { say(text); show(null); });
        });
      }).catch(function () { say(box.dataset.failed); }).then(function () { off.disabled = false; });
    });
  }).catch(function () { say(box.dataset.failed); });
})();
