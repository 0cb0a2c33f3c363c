// rsbench leaderboard: click a column heading to sort its table; click again to reverse.
// Each cell carries its sort key in data-value (a number where the column is a figure), so "53.88 ± 1.13" sorts by
// 53.88 and a missing figure ("–") sorts last either way. No framework, no network: works from disk and any host.
(function () {
  "use strict";

  function key(cell) {
    var raw = cell.getAttribute("data-value");
    if (raw === null) raw = cell.textContent;
    var number = parseFloat(raw);
    return { missing: raw === "", number: isNaN(number) ? null : number, text: raw.toLowerCase() };
  }

  function compare(a, b) {
    if (a.number !== null && b.number !== null) return a.number - b.number;
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }

  function sortBy(table, column, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows = rows.map(function (row, index) { return { row: row, index: index, key: key(row.cells[column]) }; });
    rows.sort(function (a, b) {
      if (a.key.missing !== b.key.missing) return a.key.missing ? 1 : -1;  // missing figures last
      var order = compare(a.key, b.key);
      if (descending) order = -order;
      return order || a.index - b.index;  // stable: equal keys keep their order
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.setAttribute("aria-sort", index === column ? (descending ? "descending" : "ascending") : "none");
    });
  }

  function attach(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var current = th.getAttribute("aria-sort");
        var descending = current === "none" || current === null
          ? th.getAttribute("data-first") === "descending"
          : current === "ascending";
        sortBy(table, column, descending);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), attach);
  });
})();
