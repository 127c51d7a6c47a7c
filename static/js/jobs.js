// Job pages: the new-cover form (fields per provider and mode, character counters, cost) and
// the A/B player. Every page works without this file; it only makes them nicer.
(function () {
  "use strict";

  function json(el, name) {
    try { return JSON.parse(el.dataset[name] || "{}"); } catch (e) { return {}; }
  }

  // --- new cover form ------------------------------------------------------------------
  function setupCoverForm(form) {
    var limits = json(form, "limits");
    var fields = json(form, "fields");
    var provider = form.querySelector("[name=provider]");
    var model = form.querySelector("[name=model]");
    var custom = form.querySelector("[name=custom_mode]");
    var costEl = form.querySelector("[data-cost]");
    var afterEl = form.querySelector("[data-balance-after]");

    function current() {
      var entry = limits[provider.value] || { models: {} };
      var names = Object.keys(entry.models);
      var m = model && names.indexOf(model.value) >= 0 ? model.value : (names.indexOf(entry.default_model) >= 0 ? entry.default_model : names[0]);
      return { entry: entry, model: m, limits: entry.models[m] || {} };
    }

    function refresh() {
      var cur = current();
      var wanted = (fields.providers || {})[provider.value] || [];
      var takesMode = wanted.indexOf("custom_mode") >= 0;
      var isCustom = custom && custom.checked;
      form.querySelectorAll("[data-field]").forEach(function (box) {
        var name = box.dataset.field;
        if (name === "provider") return;
        var show = wanted.indexOf(name) >= 0;
        if (show && takesMode && !isCustom && (fields.custom_only || []).indexOf(name) >= 0) show = false;
        box.hidden = !show;
      });
      if (model) {
        Array.prototype.forEach.call(model.options, function (opt) {
          opt.hidden = opt.value !== "" && !(opt.value in cur.entry.models);
        });
        if (model.value && !(model.value in cur.entry.models)) model.value = cur.entry.default_model || "";
        if (!model.value && cur.entry.default_model) model.value = cur.entry.default_model;
      }
      form.querySelectorAll("[data-counter-for]").forEach(function (counter) {
        var name = counter.dataset.counterFor;
        var input = form.querySelector("[name=" + name + "]");
        var max = cur.limits[name];
        if (name === "prompt" && takesMode && !isCustom) max = cur.limits.non_custom_prompt;
        var used = input ? input.value.length : 0;
        counter.textContent = max ? used + " / " + max : used + " characters";
        counter.classList.toggle("over", !!max && used > max);
        if (input && max) input.setAttribute("maxlength", max); else if (input) input.removeAttribute("maxlength");
      });
      if (costEl && cur.limits.price !== undefined) {
        costEl.textContent = cur.limits.price;
        var balance = parseInt(afterEl.dataset.balance, 10);
        afterEl.textContent = balance - cur.limits.price;
        afterEl.classList.toggle("over", balance - cur.limits.price < 0);
        var short = form.querySelector("[data-short]");
        if (short) short.hidden = balance - cur.limits.price >= 0;
      }
    }

    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    form.addEventListener("submit", function () {
      var button = form.querySelector("[data-submit-once]");
      // The idempotency key makes a second submit harmless; this just avoids the flicker.
      if (button) setTimeout(function () { button.disabled = true; button.textContent = "Sending…"; }, 0);
    });
    refresh();
  }

  // --- A/B player: two tracks playing in sync, hear one or the other --------------------
  function abPlayers(root) {
    return [root.querySelector("[data-ab-player='1']"), root.querySelector("[data-ab-player='2']")];
  }

  function setupAB(root) {
    var controls = root.querySelector(".ab-controls");
    var players = abPlayers(root);
    if (!controls || !players[0] || !players[1]) return;
    controls.hidden = false;
  }

  function listen(root, which) {
    var players = abPlayers(root);
    players.forEach(function (p, i) { p.muted = (i + 1) !== which; });
    root.querySelectorAll("[data-ab-listen]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.abListen === String(which)));
    });
  }

  var syncing = false;
  function follow(event) {
    var player = event.target;
    if (!player.matches || !player.matches("[data-ab-player]") || syncing) return;
    var root = player.closest("[data-ab]");
    if (!root || !root.dataset.abSynced) return;
    var other = abPlayers(root).filter(function (p) { return p !== player; })[0];
    if (!other) return;
    syncing = true;
    if (event.type === "seeked" && Math.abs(other.currentTime - player.currentTime) > 0.05) other.currentTime = player.currentTime;
    if (event.type === "play" && other.paused) { other.currentTime = player.currentTime; other.play().catch(function () {}); }
    if (event.type === "pause" && !other.paused) other.pause();
    syncing = false;
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-ab-toggle]");
    var hear = event.target.closest("[data-ab-listen]");
    var root = event.target.closest("[data-ab]");
    if (!root) return;
    if (toggle) {
      var players = abPlayers(root);
      root.dataset.abSynced = "1";
      listen(root, 1);
      players[1].currentTime = players[0].currentTime;
      if (players[0].paused) {
        players[0].play().catch(function () {});
        toggle.textContent = "Pause both";
      } else {
        players[0].pause();
        toggle.textContent = "Play A and B in sync";
      }
    } else if (hear) {
      root.dataset.abSynced = "1";
      listen(root, parseInt(hear.dataset.abListen, 10));
    }
  });
  ["play", "pause", "seeked"].forEach(function (type) { document.addEventListener(type, follow, true); });

  function init(root) {
    root.querySelectorAll("#cover-form").forEach(setupCoverForm);
    root.querySelectorAll("[data-ab]").forEach(setupAB);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.detail.target.parentNode || document); });

  // The job page's status partial is swapped whole every time it changes: announce only its
  // new stage (data-announce) through a live region that stays in place.
  function stageText() {
    var status = document.getElementById("job-status");
    return status ? status.getAttribute("data-announce") : null;
  }
  var announced = null;
  document.addEventListener("DOMContentLoaded", function () { announced = stageText(); });
  document.addEventListener("htmx:afterSettle", function () {
    var announcer = document.getElementById("job-announcer");
    var text = stageText();
    if (!announcer || !text || text === announced) return;
    announcer.textContent = text;
    announced = text;
  });
  document.addEventListener("htmx:load", function (event) { if (event.detail && event.detail.elt) init(event.detail.elt.parentNode || document); });
})();
