// zaloan: small kindnesses on top of plain HTML. Every form works without this file.
(function () {
  "use strict";
  var d = document, vi = d.documentElement.lang !== "en";
  var T = vi ? {
    net: "Mất kết nối. Chưa mất gì: hãy thử lại.",
    fail: "Chưa gửi được — thử lại",
    retry: "Thử lại",
    cancel: "Hủy",
    sent: "Đã tải lên",
    bad: "Ảnh này không gửi được"
  } : {
    net: "No connection. Nothing was lost: try again.",
    fail: "Not sent yet — try again",
    retry: "Try again",
    cancel: "Cancel",
    sent: "Uploaded",
    bad: "This photo could not be sent"
  };

  function $(sel, root) { return (root || d).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || d).querySelectorAll(sel)); }
  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function key() {
    var a = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function net(text) {
    var n = $("#net");
    if (n) { n.textContent = text || ""; n.hidden = !text; }
  }

  // --- Drafts: what was typed survives a reload until the server confirms it. ---
  var store = null;
  try { store = window.localStorage; store.setItem("_z", "1"); store.removeItem("_z"); } catch (e) { store = null; }

  function draftName(form) { return "draft:" + form.getAttribute("data-draft"); }
  function saveDraft(form) {
    if (!store) return;
    var data = {};
    $$("input[name],textarea[name],select[name]", form).forEach(function (f) {
      if (f.type === "file" || f.type === "hidden" && f.name === "csrf_token") return;
      if ((f.type === "radio" || f.type === "checkbox") && !f.checked) return;
      data[f.name] = f.value;
    });
    try { store.setItem(draftName(form), JSON.stringify(data)); } catch (e) { /* full: ignore */ }
  }
  function restoreDraft(form) {
    if (!store) return;
    var raw = store.getItem(draftName(form));
    if (!raw) return;
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    // The server already has what this draft's key sent: keep the draft no longer.
    if (data.client_key && (" " + (form.getAttribute("data-spent") || "") + " ").indexOf(" " + data.client_key + " ") >= 0) {
      store.removeItem(draftName(form));
      return;
    }
    $$("input[name],textarea[name],select[name]", form).forEach(function (f) {
      if (!(f.name in data) || f.type === "file" || f.name === "csrf_token") return;
      if (f.type === "radio" || f.type === "checkbox") f.checked = f.value === data[f.name];
      else f.value = data[f.name];
    });
  }

  // --- Photos: shrink on the phone, send one by one with a progress bar. ---
  function shrink(file, done) {
    var max = 1600, q = 0.7;
    var fallback = function () { done(file); };
    if (!window.createImageBitmap || !HTMLCanvasElement.prototype.toBlob) return fallback();
    createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bmp) {
      var s = Math.min(1, max / Math.max(bmp.width, bmp.height));
      var c = el("canvas");
      c.width = Math.round(bmp.width * s);
      c.height = Math.round(bmp.height * s);
      c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
      if (bmp.close) bmp.close();
      c.toBlob(function (b) { done(b && b.size < file.size ? b : file); }, "image/jpeg", q);
    }, fallback);
  }

  // One piece of photo work is over; a send that waited for it goes now.
  function settle(form) {
    form._pending--;
    if (!form._pending && form._go) { form._go = 0; form.requestSubmit ? form.requestSubmit() : form.submit(); }
  }

  function uploadOne(box, form, file) {
    var row = el("div", "up"), bar = el("progress"), label = el("span", "pct", "0%");
    var cancel = el("button", "btn", T.cancel), ck = key(), xhr;
    cancel.type = "button";
    bar.max = 100; bar.value = 0;
    row.appendChild(el("span", "name", file.name || "ảnh"));
    row.appendChild(bar); row.appendChild(label); row.appendChild(cancel);
    box.appendChild(row);
    form._pending = (form._pending || 0) + 1;
    function finish() { cancel.remove(); settle(form); }
    function send(blob) {
      var fd = new FormData();
      fd.append("photo", blob, "photo.jpg");
      fd.append("client_key", ck);
      var csrf = $("input[name=csrf_token]", form);
      if (csrf) fd.append("csrf_token", csrf.value);
      xhr = new XMLHttpRequest();
      xhr.open("POST", box.getAttribute("data-upload-url"));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          var p = Math.round(e.loaded * 100 / e.total);
          bar.value = p; label.textContent = p + "%";
        }
      };
      xhr.onload = function () {
        var id = null, said = "";
        try { var answer = JSON.parse(xhr.responseText); id = answer.id; said = answer.error || ""; } catch (e) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300 && id) {
          var h = el("input");
          h.type = "hidden"; h.name = "photo_ids"; h.value = id;
          form.appendChild(h);
          bar.value = 100; label.textContent = T.sent;
          finish();
        } else if (xhr.status >= 400 && xhr.status < 500) {
          label.textContent = T.bad; finish();
        } else { failed(xhr.status === 507 ? said : ""); }  // a full disk: the server's own words
      };
      xhr.onerror = function () { failed(""); };
      xhr.send(fd);
    }
    function failed(said) {
      label.textContent = said || T.fail;
      cancel.textContent = T.retry;
      cancel.onclick = function () { cancel.textContent = T.cancel; cancel.onclick = abort; shrink(file, send); };
    }
    function abort() { if (xhr) xhr.abort(); row.remove(); finish(); }
    cancel.onclick = abort;
    shrink(file, send);
  }

  // Without an account the photos go with the form itself: shrink them in place first.
  function shrinkInPlace(input, form) {
    if (!window.DataTransfer || !window.File) return;
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []), out = [], left = files.length;
      if (!left) return;
      form._pending = (form._pending || 0) + 1;
      files.forEach(function (f, i) {
        shrink(f, function (b) {
          out[i] = b === f ? f : new File([b], "anh-" + (i + 1) + ".jpg", { type: "image/jpeg" });
          if (--left) return;
          try {
            var dt = new DataTransfer();
            out.forEach(function (x) { dt.items.add(x); });
            input.files = dt.files;
          } catch (e) { /* the photos go as they are */ }
          settle(form);
        });
      });
    });
  }

  function enhancePhotos(form) {
    var plain = $("input[type=file]:not([data-upload-url]):not([accept^=audio])", form);  // photos, not a voice note
    if (plain) shrinkInPlace(plain, form);
    var input = $("input[type=file][data-upload-url]", form);
    if (!input || !window.FormData || !window.XMLHttpRequest) return;
    var box = el("div", "uploads");
    box.setAttribute("data-upload-url", input.getAttribute("data-upload-url"));
    input.parentNode.appendChild(box);
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []), limit = +input.getAttribute("data-max") || 3;
      var have = $$("input[name=photo_ids]", form).length + (form._pending || 0);
      files.slice(0, Math.max(0, limit - have)).forEach(function (f) { uploadOne(box, form, f); });
      input.value = ""; // the photos go one by one, not again with the form
    });
  }

  // --- A task's due time follows the urgency chosen, until the officer changes it by hand. ---
  function enhanceDue(form) {
    var due = $("input[data-due-hours]", form), urg = due && $("select[name=urgency]", form);
    if (!urg) return;
    var hours, offered = due.value;
    try { hours = JSON.parse(due.getAttribute("data-due-hours")); } catch (e) { return; }
    urg.addEventListener("change", function () {
      if (due.value !== offered || !hours[urg.value]) return;
      var t = new Date(Date.now() + hours[urg.value] * 36e5), p = function (n) { return ("0" + n).slice(-2); };
      due.value = offered = t.getFullYear() + "-" + p(t.getMonth() + 1) + "-" + p(t.getDate()) + "T" +
        p(t.getHours()) + ":" + p(t.getMinutes());
    });
  }

  // --- Sending: keep everything on screen when the network fails. ---
  function enhanceForm(form) {
    enhanceDue(form);
    if (form.getAttribute("data-draft")) {
      restoreDraft(form);
      form.addEventListener("input", function () { saveDraft(form); });
      form.addEventListener("change", function () { saveDraft(form); });
    }
    enhancePhotos(form);
  }

  d.addEventListener("htmx:sendError", function (e) {
    net(T.net);
    var form = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form");
    var btn = form && $(".btn.main", form);
    if (btn) { btn.setAttribute("data-label", btn.getAttribute("data-label") || btn.textContent); btn.textContent = T.fail; }
  });
  d.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful) {
      net("");
      var form = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form");
      var btn = form && $(".btn.main[data-label]", form);
      if (btn) btn.textContent = btn.getAttribute("data-label");
    }
  });
  // A refused send: bring the first words saying why into view (they may sit above the button).
  d.addEventListener("htmx:afterSettle", function (e) {
    if (!e.detail.xhr || e.detail.xhr.status < 400) return;
    var m = $$(".err[role=alert]").filter(function (x) { return x.textContent.trim(); })[0];
    if (m) { m.tabIndex = -1; m.focus({preventScroll: true}); m.scrollIntoView({block: "center"}); }
  });
  // A form waits for photos still uploading, then goes by itself.
  d.addEventListener("submit", function (e) {
    if (e.target._pending > 0) { e.preventDefault(); e.stopImmediatePropagation(); e.target._go = 1; }
  }, true);

  // --- Quick exit: leave for the plain page and take this one out of the history, so Back does not return. ---
  d.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-quick-exit]");
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    location.replace(a.href);
  }, true);

  // After "clear traces": drop what this phone keeps, for browsers without Clear-Site-Data.
  function forgetAll() {
    try { if (window.localStorage) window.localStorage.clear(); } catch (e) { /* not allowed */ }
    try { if (window.sessionStorage) window.sessionStorage.clear(); } catch (e) { /* not allowed */ }
    if (window.caches && caches.keys) {
      caches.keys().then(function (ks) { ks.forEach(function (k) { caches.delete(k); }); }, function () {});
    }
  }

  function init(root) {
    if ($("[data-forget-here]", root)) forgetAll();
    // The server confirmed: forget the draft it names (before any form could bring it back).
    $$("[data-clear-draft]", root).forEach(function (x) {
      if (store) store.removeItem("draft:" + x.getAttribute("data-clear-draft"));
    });
    $$("form", root).forEach(function (f) { if (!f._z) { f._z = 1; enhanceForm(f); } });
    $$(".nav a", root).forEach(function (a) {
      if (a.pathname === location.pathname) a.setAttribute("aria-current", "page");
    });
  }
  d.addEventListener("DOMContentLoaded", function () { init(d); });
  d.addEventListener("htmx:load", function (e) { init(e.detail.elt.parentNode || e.detail.elt); });
})();
