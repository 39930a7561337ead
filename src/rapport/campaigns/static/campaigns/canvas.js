/* Journey canvas side panel: show only the fields of what a split asks (conditions picked in the
 * segment builder, a segment, or engagement with an earlier message), and only the templates of
 * the chosen channel. The drawing itself is SVG written by the server; no framework. */
(function () {
  "use strict";

  const form = document.getElementById("step-form");
  if (!form) return;

  const splitChoices = form.querySelectorAll("input[name=split_on]");
  function showSplitFields() {
    const chosen = form.querySelector("input[name=split_on]:checked");
    for (const group of form.querySelectorAll("[data-split-on]")) {
      group.hidden = !chosen || group.dataset.splitOn !== chosen.value;
    }
  }
  splitChoices.forEach((input) => input.addEventListener("change", showSplitFields));
  if (splitChoices.length) showSplitFields();

  const channel = form.querySelector("#id_channel");
  const template = form.querySelector("#id_template");
  function showTemplates() {
    for (const option of template.options) {
      if (!option.dataset.channel) continue;
      option.hidden = Boolean(channel.value) && option.dataset.channel !== channel.value;
      if (option.hidden && option.selected) template.value = "";
    }
  }
  if (channel && template) {
    channel.addEventListener("change", showTemplates);
    showTemplates();
  }
})();
