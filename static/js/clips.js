// Clip library: drag-and-drop upload with a progress bar, and the trim page's waveform.
// Both pages work without this file: the upload form posts normally, the trim form has
// plain number inputs.
(function () {
  "use strict";

  function csrfToken(form) {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function textOf(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    return (doc.body.textContent || "").trim();
  }

  function post(url, data, form, onProgress) {
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      if (form) {
        xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
        xhr.setRequestHeader("HX-Request", "true");
      }
      if (onProgress) {
        xhr.upload.addEventListener("progress", function (e) {
          if (e.lengthComputable) onProgress(e.loaded / e.total);
        });
      }
      xhr.addEventListener("load", function () { resolve(xhr); });
      xhr.addEventListener("error", function () { resolve(null); });
      xhr.send(data);
    });
  }

  function setupUpload() {
    const form = document.getElementById("upload-form");
    if (!form) return;
    const zone = document.getElementById("dropzone");
    const input = form.querySelector("input[type=file]");
    const status = document.getElementById("upload-status");
    const maxBytes = parseInt(form.dataset.maxBytes, 10);
    const submit = form.querySelector("button[type=submit]");
    input.multiple = true;
    if (submit) submit.hidden = true;  // choosing a file starts the upload

    function statusItem(file) {
      const item = document.createElement("div");
      item.className = "upload-item";
      const name = document.createElement("span");
      name.className = "upload-name";
      name.textContent = file.name;  // text, never HTML
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", "Uploading " + file.name);
      const msg = document.createElement("span");
      msg.className = "upload-msg";
      msg.textContent = "Uploading…";
      item.append(name, bar, msg);
      status.prepend(item);
      return {
        progress: function (fraction) {
          bar.value = Math.round(fraction * 100);
          msg.textContent = fraction < 1 ? bar.value + "%" : "Checking the audio…";
        },
        done: function (ok, text) {
          bar.value = 100;
          bar.hidden = true;
          item.classList.add(ok ? "ok" : "error");
          msg.textContent = text;
          if (!ok) msg.setAttribute("role", "alert");
        },
      };
    }

    function addRow(html) {
      const rows = document.getElementById("clip-rows");
      if (!rows) return;
      rows.insertAdjacentHTML("afterbegin", html.trim());
      const row = rows.firstElementChild;
      if (window.htmx) window.htmx.process(row);
      const table = document.getElementById("clip-table");
      if (table) table.hidden = false;
      const empty = document.getElementById("clip-empty");
      if (empty) empty.remove();
    }

    function finish(xhr, item) {
      if (!xhr) return item.done(false, "The upload failed: check your connection and try again.");
      if (xhr.status === 201) {
        addRow(xhr.responseText);
        return item.done(true, "Added.");
      }
      item.done(false, textOf(xhr.responseText) || "The upload was refused (" + xhr.status + ").");
    }

    async function throughServer(file, item) {
      const data = new FormData();
      data.append("csrfmiddlewaretoken", csrfToken(form));
      data.append("file", file);
      finish(await post(form.action, data, form, item.progress), item);
    }

    async function direct(file, item) {
      const ask = new FormData();
      ask.append("filename", file.name);
      ask.append("content_type", file.type && file.type.startsWith("audio/") ? file.type : "audio/mpeg");
      const answer = await post(form.dataset.directUrl, ask, form);
      if (!answer || answer.status !== 200) return throughServer(file, item);
      const presigned = JSON.parse(answer.responseText);
      const data = new FormData();
      Object.entries(presigned.fields).forEach(function ([k, v]) { data.append(k, v); });
      data.append("Content-Type", ask.get("content_type"));
      data.append("file", file);
      const sent = await post(presigned.url, data, null, item.progress);
      if (!sent || sent.status >= 300) {
        return item.done(false, "The storage refused the upload (" + (sent ? sent.status : "network") + ").");
      }
      const verify = new FormData();
      verify.append("ticket", presigned.ticket);
      finish(await post(form.dataset.verifyUrl, verify, form), item);
    }

    async function uploadAll(files) {
      for (const file of Array.from(files)) {
        const item = statusItem(file);
        if (file.size > maxBytes) {
          item.done(false, "This file is too large. The limit is " + form.dataset.maxSize + ".");
          continue;
        }
        await (form.dataset.directUrl ? direct(file, item) : throughServer(file, item));
      }
      input.value = "";
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (input.files.length) uploadAll(input.files);
    });
    input.addEventListener("change", function () {
      if (input.files.length) uploadAll(input.files);
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.remove("dragging");
      });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) uploadAll(e.dataTransfer.files);
    });
  }

  function setupTrim() {
    const box = document.getElementById("trim");
    if (!box) return;
    const startInput = document.getElementById("id_start");
    const endInput = document.getElementById("id_end");
    const audio = document.getElementById("trim-audio");
    const note = document.getElementById("selection-length");
    const playButton = document.getElementById("play-selection");
    const duration = parseFloat(box.dataset.duration);
    let region = null;

    function values() {
      return [parseFloat(startInput.value) || 0, parseFloat(endInput.value) || 0];
    }

    function showLength() {
      const [s, e] = values();
      note.textContent = e > s ? "Selection: " + (e - s).toFixed(1) + " s" : "The end must come after the start.";
    }

    function setSelection(s, e, fromRegion) {
      s = Math.max(0, Math.min(s, duration));
      e = Math.max(0, Math.min(e, duration));
      startInput.value = s.toFixed(2);
      endInput.value = e.toFixed(2);
      if (region && !fromRegion) region.setOptions({ start: s, end: e });
      showLength();
    }

    document.querySelectorAll("button.preset").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        const low = parseFloat(button.dataset.min) || 0;
        const high = parseFloat(button.dataset.max);
        let [s] = values();
        let e = Math.min(duration, s + high);
        if (e - s < low) s = Math.max(0, e - low);
        setSelection(s, e);
      });
    });
    [startInput, endInput].forEach(function (input) {
      input.addEventListener("input", function () {
        const [s, e] = values();
        if (region && e > s) region.setOptions({ start: s, end: e });
        showLength();
      });
    });

    playButton.hidden = false;
    let stopAt = null;
    playButton.addEventListener("click", function () {
      const [s, e] = values();
      stopAt = e;
      audio.currentTime = s;
      audio.play();
    });
    audio.addEventListener("timeupdate", function () {
      if (stopAt !== null && audio.currentTime >= stopAt) {
        audio.pause();
        stopAt = null;
      }
    });
    showLength();

    if (!window.WaveSurfer || !window.WaveSurfer.Regions) return;
    const css = getComputedStyle(document.documentElement);
    const accent = css.getPropertyValue("--accent").trim() || "#5b3cc4";
    const muted = css.getPropertyValue("--muted").trim() || "#888";
    const regions = window.WaveSurfer.Regions.create();
    // The server measured the peaks when it checked the upload: with them wavesurfer draws at
    // once and never downloads the file itself (a bucket would need CORS for that).
    const peaksScript = document.getElementById("clip-peaks");
    const peaks = peaksScript ? JSON.parse(peaksScript.textContent) : null;
    const waves = window.WaveSurfer.create({
      container: "#waveform",
      media: audio,
      peaks: peaks && peaks.length ? [peaks] : undefined,
      duration: peaks && peaks.length ? duration : undefined,
      height: 110,
      waveColor: muted,
      progressColor: accent,
      cursorColor: accent,
      normalize: true,
      plugins: [regions],
    });
    function addRegion() {
      if (region) return;
      const [s, e] = values();
      region = regions.addRegion({
        start: s, end: e > s ? e : Math.min(duration, s + 10),
        color: "rgba(91, 60, 196, 0.22)", drag: true, resize: true,
      });
      box.classList.add("has-waveform");
    }
    waves.on("decode", addRegion);
    waves.on("ready", addRegion);
    regions.on("region-update", function (r) { setSelection(r.start, r.end, true); });
    regions.on("region-updated", function (r) { setSelection(r.start, r.end, true); });
    waves.on("error", function () { box.classList.add("no-waveform"); });
  }

  // Refusals come back as 400/409 with a message to show (and HX-Retarget saying where);
  // htmx 2 leaves 4xx responses unswapped unless told otherwise.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    setupUpload();
    setupTrim();
  });
})();
