// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function toastRegion() {
    return document.getElementById("toasts");
  }

  // Show a short message in the toast region (a polite live region, read by screen readers).
  function toast(text, tags) {
    var region = toastRegion();
    if (!region || !text) return;
    var item = document.createElement("p");
    item.className = "message toast " + (tags || "");
    item.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    region.appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
  }
  window.coverlabToast = toast;

  // Messages queued during an HTMX request arrive in the HX-Trigger "messages" event.
  document.body.addEventListener("messages", function (event) {
    (event.detail.value || []).forEach(function (m) { toast(m.message, m.tags); });
  });

  // htmx 2 does not swap error responses: say what went wrong instead of doing nothing.
  document.body.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var detail = doc.querySelector(".error-page p, [role=alert]");
      text = detail ? detail.textContent.trim() : "";
    } catch (e) { /* fall through to the generic text */ }
    if (!text) {
      text = xhr.status === 403 ? "You don't have permission to do that in this workspace."
        : xhr.status === 404 ? "That item no longer exists."
        : "Something went wrong. Please try again.";
    }
    toast(text, "error");
  });
  // Ask before destructive actions in our own modal dialog (focus stays inside it, Escape
  // cancels); the browser's confirm() where <dialog> is missing. The answer is read from the
  // dialog form's submit (synchronous), not from its "close" event: that event is queued, and
  // a late one from the last question must not answer this one.
  var confirmDialog = document.getElementById("confirm-dialog");
  var pending = null;
  function ask(question, onYes) {
    if (!confirmDialog || typeof confirmDialog.showModal !== "function") {
      if (window.confirm(question)) onYes();
      return;
    }
    confirmDialog.querySelector("#confirm-question").textContent = question;
    pending = onYes;
    confirmDialog.showModal();
  }
  if (confirmDialog) {
    confirmDialog.querySelector("form").addEventListener("submit", function (event) {
      var yes = event.submitter && event.submitter.value === "ok";
      var onYes = pending;
      pending = null;
      event.preventDefault();
      confirmDialog.close(yes ? "ok" : "cancel");
      if (yes && onYes) onYes();
    });
    confirmDialog.addEventListener("cancel", function () { pending = null; });
  }

  // Tab and Shift+Tab cycle through the dialog's buttons instead of leaving for the browser.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab" || !confirmDialog || !confirmDialog.open) return;
    var buttons = confirmDialog.querySelectorAll("button");
    var first = buttons[0], last = buttons[buttons.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });

  document.body.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question) return;
    event.preventDefault();
    ask(event.detail.question, function () { event.detail.issueRequest(true); });
  });

  // Plain forms: <form data-confirm="Question?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (!question || form.getAttribute("data-confirmed")) return;
    event.preventDefault();
    var submitter = event.submitter;
    ask(question, function () {
      form.setAttribute("data-confirmed", "1");
      if (form.requestSubmit) form.requestSubmit(submitter || undefined);
      else form.submit();
    });
  });

  document.body.addEventListener("htmx:sendError", function () {
    toast("Couldn't reach Coverlab. Check your connection and try again.", "error");
  });
})();
