/* Small behaviours of the citizen pages, on top of htmx: the conversation stays scrolled to its latest message, and
   the report form shows its preview in place of the form (the chosen photos stay chosen) until "change something". */
(function () {
  "use strict";

  function scrollChat() {
    var chat = document.querySelector("[data-chat]");
    if (chat) chat.scrollTop = chat.scrollHeight;
  }

  function reportForm() { return document.getElementById("report-form"); }

  function editReport(focus) {
    var form = reportForm();
    if (!form) return;
    form.classList.remove("is-previewing");
    var preview = document.getElementById("report-preview");
    if (preview) preview.innerHTML = "";
    var first = form.querySelector("[aria-invalid='true']") || document.getElementById("f-description");
    if (focus && first) first.focus();
  }

  document.addEventListener("DOMContentLoaded", scrollChat);

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "messages") scrollChat();
    if (target.id === "composer" || (target.closest && target.closest("#composer"))) {
      scrollChat();
      var composer = document.getElementById("composer");
      var error = composer && composer.querySelector("[aria-invalid='true'], .notice--error");
      var text = document.getElementById("f-text");
      if (!error && text && event.detail.requestConfig && event.detail.requestConfig.verb === "post") text.focus();
    }
    if (target.id === "report-preview") {
      var section = target.querySelector("[data-preview]");
      if (section) {
        reportForm().classList.add("is-previewing");
        section.focus();
        section.scrollIntoView({ block: "start" });
      }
    }
    if (target.id === "report-edit") editReport(true);
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-edit-report]");
    if (!link || !reportForm()) return;
    event.preventDefault();
    editReport(true);
  });
})();
