// zaloan: record a voice note in the browser, hear it back, send it on its own. The form works without this
// file: its field `voice` takes a recording from the phone's own recorder.
(function () {
  "use strict";
  if (window.zaloanVoice) return; // a swapped form brings this script again: one copy does the work
  window.zaloanVoice = 1;
  var d = document, vi = d.documentElement.lang !== "en", MAX = 120;
  var T = vi ? {
    rec: "🎤 Bấm để nói", stop: "⏹ Dừng", again: "🔁 Ghi lại", del: "Bỏ ghi âm", up: "Đang tải lên",
    sent: "Đã tải lên", fail: "Chưa gửi được — thử lại", retry: "Thử lại",
    mic: "Không mở được micrô. Bạn có thể chọn tệp ghi âm bên dưới.", limit: "Tối đa 2 phút"
  } : {
    rec: "🎤 Press to speak", stop: "⏹ Stop", again: "🔁 Record again", del: "Remove the recording",
    up: "Uploading", sent: "Uploaded", fail: "Not sent yet — try again", retry: "Try again",
    mic: "The microphone could not be opened. You can choose a recording below.", limit: "2 minutes at most"
  };

  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function button(text, cls) { var b = el("button", "btn" + (cls ? " " + cls : ""), text); b.type = "button"; return b; }
  function key() {
    var a = new Uint8Array(16);
    window.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function clock(s) { s = Math.floor(s); return Math.floor(s / 60) + ":" + ("0" + s % 60).slice(-2); }
  function mimeType() {
    var all = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
    for (var i = 0; i < all.length; i++) if (MediaRecorder.isTypeSupported(all[i])) return all[i];
    return "";
  }
  // The same waiting rule as the photos (app.js): a form sent while a note uploads goes once it is done.
  function hold(form) { form._pending = (form._pending || 0) + 1; }
  function settle(form) {
    form._pending--;
    if (!form._pending && form._go) { form._go = 0; form.requestSubmit ? form.requestSubmit() : form.submit(); }
  }

  function enhance(box) {
    var form = box.closest("form"), input = box.querySelector("input[type=file]");
    var url = box.getAttribute("data-upload-url");
    if (!form || !input || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) return;
    if (!url && !(window.DataTransfer && window.File)) return; // no account, and the field cannot take a recording
    var bar = el("div", "voice-rec"), rec = button(T.rec, "alt"), stop = button(T.stop), again = button(T.again);
    var time = el("span", "rec-time"), audio = el("audio"), status = el("p", "hint"), prog = el("progress");
    var retry = button(T.retry), drop = button(T.del);
    audio.controls = true;
    prog.max = 100;
    [stop, again, time, audio, prog, retry, drop].forEach(function (x) { x.hidden = true; });
    status.hidden = true;
    bar.appendChild(rec); bar.appendChild(stop); bar.appendChild(time); bar.appendChild(again);
    box.insertBefore(bar, input);
    box.insertBefore(audio, input);
    box.insertBefore(prog, input); box.insertBefore(status, input); box.insertBefore(retry, input);
    box.insertBefore(drop, input);
    var recorder = null, chunks = [], started = 0, tick = null, blob = null, xhr = null, uploading = false;

    function say(text) { status.textContent = text || ""; status.hidden = !text; }
    function forget() {
      Array.prototype.forEach.call(form.querySelectorAll("input[name=voice_ids]"), function (h) { h.remove(); });
      if (xhr) { xhr.abort(); xhr = null; }
      if (uploading) { uploading = false; settle(form); }
      if (!url) { try { input.value = ""; } catch (e) { /* ignore */ } }
      blob = null; audio.hidden = prog.hidden = retry.hidden = drop.hidden = true; say("");
    }
    function send() {
      var fd = new FormData(), csrf = form.querySelector("input[name=csrf_token]"), ck = key();
      fd.append("voice", blob, "ghi-am." + (blob.type.indexOf("ogg") >= 0 ? "ogg" : blob.type.indexOf("mp4") >= 0 ? "m4a" : "webm"));
      fd.append("client_key", ck);
      if (csrf) fd.append("csrf_token", csrf.value);
      retry.hidden = true; prog.hidden = false; prog.value = 0; say(T.up + " 0%");
      if (!uploading) { uploading = true; hold(form); }
      xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { var p = Math.round(e.loaded * 100 / e.total); prog.value = p; say(T.up + " " + p + "%"); }
      };
      xhr.onload = function () {
        var answer = {}, st = xhr.status;
        try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        xhr = null;
        if (st >= 200 && st < 300 && answer.id) {
          var h = el("input");
          h.type = "hidden"; h.name = "voice_ids"; h.value = answer.id;
          form.appendChild(h);
          prog.value = 100; say("✅ " + T.sent);
          uploading = false; settle(form);
        } else if (st >= 400 && st < 500 && answer.error) {
          say(answer.error); prog.hidden = true; uploading = false; settle(form); // refused: record again
        } else { failed(answer.error); }
      };
      xhr.onerror = failed;
      xhr.send(fd);
    }
    function failed(why) {
      xhr = null; say(typeof why === "string" ? why : T.fail); retry.hidden = false;
      if (uploading) { uploading = false; settle(form); }
    }
    function finished() {
      clearInterval(tick);
      blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      recorder.stream.getTracks().forEach(function (t) { t.stop(); });
      recorder = null;
      stop.hidden = true; rec.hidden = true; again.hidden = false; drop.hidden = false;
      audio.src = URL.createObjectURL(blob); audio.hidden = false;
      if (url) { send(); return; }
      var dt = new DataTransfer();
      dt.items.add(new File([blob], "ghi-am.webm", { type: blob.type }));
      input.files = dt.files; // no account: the note goes with the form itself
    }
    function start() {
      forget();
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var type = mimeType();
        recorder = new MediaRecorder(stream, type ? { mimeType: type, audioBitsPerSecond: 24000 } : undefined);
        chunks = [];
        recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
        recorder.onstop = finished;
        recorder.start(1000);
        started = Date.now();
        rec.hidden = again.hidden = true; stop.hidden = false; time.hidden = false;
        time.textContent = "0:00 / 2:00";
        tick = setInterval(function () {
          var s = (Date.now() - started) / 1000;
          time.textContent = clock(s) + " / 2:00";
          if (s >= MAX && recorder && recorder.state === "recording") { say(T.limit); recorder.stop(); }
        }, 250);
      }, function () { say(T.mic); });
    }
    rec.onclick = start;
    again.onclick = start;
    stop.onclick = function () { if (recorder && recorder.state === "recording") recorder.stop(); };
    retry.onclick = send;
    drop.onclick = function () { forget(); again.hidden = true; rec.hidden = false; time.hidden = true; };
    // A file chosen by hand goes the same way as a recording (with an account: on its own, once).
    if (url) {
      input.addEventListener("change", function () {
        var f = input.files && input.files[0];
        if (!f) return;
        forget(); blob = f; input.value = "";
        audio.src = URL.createObjectURL(f); audio.hidden = false; drop.hidden = false;
        send();
      });
    }
  }

  function init(root) {
    Array.prototype.forEach.call((root || d).querySelectorAll("[data-voice]"), function (box) {
      if (!box._z) { box._z = 1; enhance(box); }
    });
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", function () { init(d); });
  else init(d);
  d.addEventListener("htmx:load", function (e) { init(e.detail.elt.parentNode || e.detail.elt); });
})();
