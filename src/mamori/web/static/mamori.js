// Behaviour the dashboard needs without inline script (the Content-Security-Policy allows none). Every page
// works without it; this only adds: confirmations, the phone's folding menu, sortable tables.
document.documentElement.classList.add("js");

// A form with data-confirm="question" asks before it submits.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);

// The navigation folds behind the Menu button on a narrow screen (CSS hides it only once this script runs).
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest(".menu-toggle");
  if (!button) return;
  var header = button.closest("header");
  var open = !header.classList.contains("open");
  header.classList.toggle("open", open);
  button.setAttribute("aria-expanded", open ? "true" : "false");
});

// Tables with class "sortable": a click on a column's header sorts by it (again: the other way). A cell's
// data-sort value wins over its text; numbers (with %, units) sort as numbers. Rows keep their tbody.
(function () {
  function key(cell) {
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    var text = (raw !== null ? raw : cell.textContent).trim();
    var number = text.replace(/[,\s]/g, "").match(/^([-+]?\d+(\.\d+)?)(%|ms|s|x|h|d)?$/);
    return number ? parseFloat(number[1]) : text.toLowerCase();
  }
  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "number") return -1;
    if (typeof b === "number") return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  function sort(table, index, th) {
    var descending = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    Array.prototype.forEach.call(table.tBodies, function (body) {
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (r1, r2) {
        var order = compare(key(r1.cells[index]), key(r2.cells[index]));
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  }
  function prepare(table) {
    if (!table.tHead || table.getAttribute("data-sortable-ready")) return;
    table.setAttribute("data-sortable-ready", "1");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      if (!th.textContent.trim()) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent.trim();
      button.title = "Sort by " + button.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () { sort(table, index, th); });
    });
  }
  function all() { document.querySelectorAll("table.sortable").forEach(prepare); }
  document.addEventListener("DOMContentLoaded", all);
  document.addEventListener("htmx:afterSwap", all);
})();

// A Markdown editor with a preview box (data-preview-of="<textarea id>"): the preview follows the typing, as
// the server renders it (raw HTML escaped, links http/https only), half a second after the last key.
(function () {
  document.querySelectorAll("[data-preview-of]").forEach(function (box) {
    var source = document.getElementById(box.getAttribute("data-preview-of"));
    if (!source) return;
    var form = source.form, timer = null, asked = 0;
    source.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var mine = ++asked, data = new FormData();
        data.append("body", source.value);
        var token = form && form.querySelector("input[name=csrf_token]");
        if (token) data.append("csrf_token", token.value);
        fetch(box.getAttribute("data-preview-url"), {
          method: "POST", body: data, credentials: "same-origin", headers: {"X-Preview": "fragment"}
        }).then(function (answer) {
          return answer.ok ? answer.text() : null;
        }).then(function (html) {
          if (html !== null && mine === asked) box.innerHTML = html;  // the server's escaped rendering
        });
      }, 500);
    });
  });
})();
