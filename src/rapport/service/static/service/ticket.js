// Ticket page: a canned reply or a suggested article is inserted into the reply box.
(function () {
  const box = document.getElementById("reply-body");
  if (!box) return;
  function insert(text) {
    box.value = box.value ? box.value.replace(/\s*$/, "") + "\n\n" + text : text;
    box.focus();
  }
  const canned = document.getElementById("canned-reply");
  if (canned) {
    canned.addEventListener("change", function () {
      const option = canned.options[canned.selectedIndex];
      if (option && option.dataset.text) insert(option.dataset.text);
      canned.selectedIndex = 0;
    });
  }
  document.querySelectorAll(".insert-article").forEach(function (button) {
    button.addEventListener("click", function () { insert(button.dataset.text); });
  });
})();
