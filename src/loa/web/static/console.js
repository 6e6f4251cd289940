/* The agency console's few behaviours that HTML alone cannot give (every page works without them):
   the conversation shows its newest message, and a canned reply fills the reply box. */
(function () {
  "use strict";

  function toBottom(root) {
    (root || document).querySelectorAll("[data-scroll-bottom]").forEach(function (list) {
      list.scrollTop = list.scrollHeight;
    });
  }

  function wireCanned(root) {
    (root || document).querySelectorAll("select[data-fills]").forEach(function (select) {
      if (select.dataset.wired) { return; }
      select.dataset.wired = "1";
      select.addEventListener("change", function () {
        var target = document.getElementById(select.dataset.fills);
        var option = select.options[select.selectedIndex];
        if (target && option && option.dataset.text) {
          target.value = option.dataset.text;
          target.focus();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { toBottom(); wireCanned(); });
  document.addEventListener("htmx:afterSwap", function (event) { toBottom(event.target.parentNode); wireCanned(event.target); });
})();
