// Progressive enhancement of the publish form's text: the Trix editor (static/vendor/trix) in
// place of the textarea, for headings, lists, bold, links and quotes without typing HTML, and
// text pasted from a word processor or an e-mail that keeps its paragraphs. The server makes
// paragraphs of what the editor sends and sanitises it, as it does with the textarea's HTML
// (feedsvc/text.py, clean_body). Without JavaScript, or for a text the editor cannot show as
// it is (tables, images, smaller headings), the textarea stays, and nothing is lost.
(function () {
  "use strict";

  var Trix = window.Trix;
  var MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember"];
  // What the editor shows and writes back unchanged; anything else stays in the textarea.
  var REPRESENTABLE = ["P", "DIV", "BR", "STRONG", "B", "EM", "I", "A", "H2", "BLOCKQUOTE", "UL", "OL",
    "LI", "PRE", "SPAN"];
  var NOT_REPRESENTABLE = "Dieser Text enthält Elemente (etwa Tabellen, Bilder oder kleinere " +
    "Überschriften), die der Editor nicht darstellen kann. Sie bearbeiten ihn hier als HTML.";

  function representable(html) {
    // DOMParser builds an inert document: nothing in it runs or loads.
    var parsed = new DOMParser().parseFromString(html, "text/html");
    var elements = parsed.body.querySelectorAll("*");
    for (var i = 0; i < elements.length; i++) {
      var element = elements[i];
      if (REPRESENTABLE.indexOf(element.tagName) < 0) {
        return false;
      }
      // The editor keeps a link's address only.
      if (element.tagName === "A" && (element.attributes.length > 1 || !element.hasAttribute("href"))) {
        return false;
      }
    }
    return true;
  }

  function configure() {
    // The page's <h1> is the release's title: the editor's heading is a <h2>, as stored.
    Trix.config.blockAttributes.heading1.tagName = "h2";
    var lang = Trix.config.lang;
    lang.attachFiles = "Dateien anhängen";
    lang.bold = "Fett";
    lang.bullets = "Aufzählung";
    lang.captionPlaceholder = "Bildunterschrift …";
    lang.code = "Code";
    lang.heading1 = "Zwischenüberschrift";
    lang.indent = "Einrücken";
    lang.italic = "Kursiv";
    lang.link = "Link";
    lang.numbers = "Nummerierung";
    lang.outdent = "Ausrücken";
    lang.quote = "Zitat";
    lang.redo = "Wiederholen";
    lang.remove = "Entfernen";
    lang.strike = "Durchgestrichen";
    lang.undo = "Rückgängig";
    lang.unlink = "Link entfernen";
    lang.url = "Adresse";
    lang.urlPlaceholder = "Adresse des Links (https://…)";
    // Images and files belong in the form's own fields, not in the text.
    document.addEventListener("trix-file-accept", function (event) { event.preventDefault(); });
  }

  function note(area, text) {
    var hint = document.createElement("p");
    hint.className = "field__hint editor-note";
    hint.textContent = text;
    area.parentNode.insertBefore(hint, area);
  }

  function start(area) {
    var html = area.getAttribute("data-editor-html");
    if (html === null) {
      return;
    }
    if (!representable(html)) {
      note(area, NOT_REPRESENTABLE);
      return;
    }
    var id = area.id;
    var label = document.querySelector("label[for='" + id + "']");
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = area.name;
    input.id = id + "-editor-value";
    input.value = html;
    var editor = document.createElement("trix-editor");
    editor.setAttribute("input", input.id);
    editor.className = "trix-content editor";
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (area.hasAttribute(name)) {
        editor.setAttribute(name, area.getAttribute(name));
      }
    });
    if (label) {
      label.id = label.id || id + "-label";
      editor.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { editor.focus(); });
    }
    // The textarea sends nothing now; the error summary's link (#f-body) leads to the editor.
    area.removeAttribute("name");
    area.id = id + "-source";
    area.hidden = true;
    editor.id = id;
    area.parentNode.insertBefore(input, area);
    area.parentNode.insertBefore(editor, area);
  }

  function scheduleLabel(value) {
    // datetime-local gives wall-clock time, which the form takes as German time.
    var match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
    if (!match) {
      return "Planen für …";
    }
    return "Planen für " + Number(match[3]) + ". " + MONTHS[Number(match[2]) - 1] + " " + match[1] +
      ", " + match[4] + ":" + match[5] + " Uhr";
  }

  function followTime() {
    var button = document.querySelector("[data-schedule-button]");
    var field = document.getElementById("f-published_at");
    if (!button || !field) {
      return;
    }
    var update = function () { button.textContent = scheduleLabel(field.value); };
    field.addEventListener("input", update);
    field.addEventListener("change", update);
    // A time the form came back with (or one typed before this ran) is named at once.
    if (field.value) {
      update();
    }
  }

  followTime();
  if (!Trix || !window.customElements || !window.DOMParser) {
    return;
  }
  configure();
  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-editor]"), start);
})();
