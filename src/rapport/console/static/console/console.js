// Behaviour shared by every console page, written without inline script so that the
// Content-Security-Policy can forbid it: controls marked data-autosubmit send their form when
// changed; forms marked data-confirm ask before they are sent.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var control = event.target;
    if (control.form && control.hasAttribute("data-autosubmit")) {
      control.form.submit();
    }
  });
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
