// A request whose copy a background job is building shows the job's progress: the page reloads
// every few seconds until the copy is ready or the job stops (failed, stalled: a Retry button).
(function () {
  "use strict";
  if (!document.querySelector("[data-preparing]")) { return; }
  window.setTimeout(function () { window.location.reload(); }, 3000);
})();
