// Behaviour the dashboard needs without inline script (the Content-Security-Policy allows none):
// a form with data-confirm="question" asks before it submits.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
