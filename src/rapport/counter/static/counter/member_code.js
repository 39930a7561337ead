// The member code rotates: fetch a fresh one a little before the shown one runs out.
(function () {
  "use strict";
  var box = document.getElementById("member-code-box");
  if (!box) { return; }
  var url = box.getAttribute("data-fresh-url");
  function schedule() {
    var card = box.querySelector(".member-code");
    var expires = card ? Date.parse(card.getAttribute("data-expires")) : NaN;
    var wait = isNaN(expires) ? 60000 : Math.max(5000, Math.min(60000, expires - Date.now() - 60000));
    window.setTimeout(refresh, wait);
  }
  function refresh() {
    if (document.hidden) { window.setTimeout(refresh, 5000); return; }
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      box.innerHTML = html;
      schedule();
    }).catch(function () { window.setTimeout(refresh, 10000); });
  }
  schedule();
})();
