/* The pipeline board: drag a card onto another stage's column to move it. Dropping only fills in
   the card's own "Move to" form and submits it, so the server checks the move exactly as when the
   select is used (won still needs the order number, lost a reason). */
(function () {
  "use strict";
  var board = document.getElementById("opp-board");
  if (!board) { return; }
  board.querySelectorAll(".opp-card").forEach(function (card) {
    if (!card.querySelector("form.opp-move")) { return; }
    card.setAttribute("draggable", "true");
    card.addEventListener("dragstart", function (event) {
      event.dataTransfer.setData("text/plain", card.id);
      event.dataTransfer.effectAllowed = "move";
    });
  });
  board.querySelectorAll(".opp-column").forEach(function (column) {
    column.addEventListener("dragover", function (event) {
      event.preventDefault();
      column.classList.add("opp-drop");
    });
    column.addEventListener("dragleave", function () { column.classList.remove("opp-drop"); });
    column.addEventListener("drop", function (event) {
      event.preventDefault();
      column.classList.remove("opp-drop");
      var card = document.getElementById(event.dataTransfer.getData("text/plain"));
      var form = card && card.querySelector("form.opp-move");
      if (!form || card.parentNode === column) { return; }
      form.querySelector("select[name=stage]").value = column.getAttribute("data-stage");
      form.submit();
    });
  });
}());
