// A form with data-confirm="Question?" asks before it is sent (instead of an inline onsubmit
// handler, which the Content-Security-Policy refuses to run).
document.addEventListener("submit", function (event) {
  var question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
