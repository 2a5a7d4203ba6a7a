
(function () {
  'use strict';
  var root = document.documentElement;
  try {
    var figures = JSON.parse(document.getElementById('report-data').textContent);
    root.setAttribute('data-report-month', figures.month);

    // Sortable tables: click (or Enter on) a header; numbers sort on their exact value. The
    // totals row lives in <tfoot> and stays at the bottom.
    Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (tableEl) {
      var headers = tableEl.querySelectorAll('thead th');
      Array.prototype.forEach.call(headers, function (th, column) {
        function sort() {
          var numeric = th.getAttribute('data-type') === 'num';
          var descending = th.getAttribute('aria-sort') !== 'descending';
          Array.prototype.forEach.call(headers, function (h) { h.removeAttribute('aria-sort'); });
          th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
          var body = tableEl.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var x = a.cells[column], y = b.cells[column];
            var p = numeric ? x.getAttribute('data-sort') : x.textContent;
            var q = numeric ? y.getAttribute('data-sort') : y.textContent;
            var result;
            if (numeric) {
              var u = p === '' ? -Infinity : parseFloat(p), v = q === '' ? -Infinity : parseFloat(q);
              result = u < v ? -1 : (u > v ? 1 : 0);
            } else {
              result = p.localeCompare(q);
            }
            return descending ? -result : result;
          });
          rows.forEach(function (row) { body.appendChild(row); });
        }
        th.addEventListener('click', sort);
        th.addEventListener('keydown', function (event) { if (event.key === 'Enter') { sort(); } });
      });
    });

    // Self-check: a chart counts as drawn when it is laid out and its marks have a visible size.
    var drawn = 0;
    Array.prototype.forEach.call(document.querySelectorAll('svg.chart'), function (svg) {
      var box = svg.getBoundingClientRect();
      var marks = svg.querySelectorAll('.mark');
      var visible = 0;
      Array.prototype.forEach.call(marks, function (mark) {
        var b = mark.getBBox();
        // A bar needs both sides; a line may be flat (no height) but never a point.
        var shown = mark.tagName.toLowerCase() === 'rect' ? (b.width > 0 && b.height > 0) : (b.width > 0 || b.height > 0);
        if (shown) { visible += 1; }
      });
      if (box.width > 0 && box.height > 0 && marks.length > 0 && visible === marks.length) {
        drawn += 1;
        svg.setAttribute('data-drawn', 'yes');
      } else {
        svg.setAttribute('data-drawn', 'no');
      }
    });
    root.setAttribute('data-charts-drawn', String(drawn));
    if (drawn !== figures.charts) {
      window.__recordError('charts drawn ' + drawn + ' of ' + figures.charts);
    }
  } catch (error) {
    window.__recordError(String(error && error.message ? error.message : error));
  }
})();
