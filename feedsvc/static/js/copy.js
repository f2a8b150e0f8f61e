// Progressive enhancement: a "Kopieren" button after every feed link marked
// data-copy. Without JavaScript the links stay plain links to the feeds.
(function () {
  "use strict";

  var status = document.querySelector("[data-copy-status]");

  function announce(text) {
    if (status) {
      status.textContent = "";
      // A new text node, so screen readers announce the same message twice in a row.
      window.setTimeout(function () { status.textContent = text; }, 50);
    }
  }

  function fallbackCopy(text) {
    // Clipboard API needs a secure context (https or localhost); elsewhere the
    // older execCommand path still works in every current browser.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (error) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function addButton(link) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = "Kopieren";
    button.setAttribute("aria-label", link.getAttribute("data-copy-label") || "Adresse kopieren");
    button.addEventListener("click", function () {
      copy(link.href).then(function () {
        button.textContent = "Kopiert";
        button.setAttribute("data-copied", "");
        announce("Adresse kopiert: " + link.href);
        window.setTimeout(function () {
          button.textContent = "Kopieren";
          button.removeAttribute("data-copied");
        }, 2000);
      }, function () {
        announce("Kopieren nicht möglich. Bitte den Link mit der rechten Maustaste kopieren.");
      });
    });
    link.insertAdjacentElement("afterend", button);
  }

  Array.prototype.forEach.call(document.querySelectorAll("a[data-copy]"), addButton);
})();
