// The counter: register the offline shell's worker, and scan a member code with the camera where
// the browser has a BarcodeDetector (typing the code always works).
(function () {
  "use strict";
  var script = document.getElementById("counter-script");
  if (script && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(script.getAttribute("data-sw"), { scope: "/counter/" }).catch(function () {});
  }
  var button = document.getElementById("counter-scan");
  var video = document.getElementById("counter-camera");
  var input = document.getElementById("counter-q");
  var form = document.getElementById("counter-find");
  if (!button || !video || !input || !form || !("BarcodeDetector" in window) || !navigator.mediaDevices) {
    return;
  }
  button.hidden = false;
  var stream = null;
  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    video.hidden = true;
  }
  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector({ formats: ["qr_code", "code_128"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.hidden = false;
      document.getElementById("counter-scan-note").hidden = false;
      return video.play();
    }).then(function () {
      function look() {
        if (!stream) { return; }
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            input.value = codes[0].rawValue;
            stop();
            form.submit();
          } else {
            window.requestAnimationFrame(look);
          }
        }).catch(function () { window.requestAnimationFrame(look); });
      }
      look();
    }).catch(function () { stop(); });
  });
})();
