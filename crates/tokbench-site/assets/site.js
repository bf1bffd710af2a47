// tokbench results: sort tables by clicking a header; filter rows by
// hardware, backend, quant, shape and concurrency, kept in the query string
// (?hw=…&shape=…). Plain DOM, no libraries, works from file://.
(function () {
  'use strict';
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var key = function (td, numeric) {
    if (!numeric) { return td.textContent.trim().toLowerCase(); }
    var x = parseFloat(td.getAttribute('data-sort'));
    return isNaN(x) ? null : x;
  };

  function sortBy(th) {
    var table = th.closest('table'), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.hasAttribute('data-num');
    var cur = th.getAttribute('aria-sort');
    var dir = cur === 'descending' ? 'ascending' : cur === 'ascending' ? 'descending' : numeric ? 'descending' : 'ascending';
    each(th.parentNode.children, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
    var sign = dir === 'ascending' ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
      if (x === null || y === null) { return x === y ? 0 : x === null ? 1 : -1; }
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  // Range of the per-shape strings at position i of data-v ("g,t,p|…").
  function range(segs, i) {
    var vals = segs.map(function (s) { return s ? s.split(',')[i] : ''; })
      .filter(function (s) { return s !== '' && s !== undefined; });
    if (!vals.length) { return ['—', '']; }
    var lo = vals[0], hi = vals[0];
    vals.forEach(function (v) {
      if (parseFloat(v) < parseFloat(lo)) { lo = v; }
      if (parseFloat(v) > parseFloat(hi)) { hi = v; }
    });
    return [lo === hi ? lo : lo + '–' + hi, hi];
  }

  function apply(form) {
    var sel = {};
    each(form.querySelectorAll('select[data-filter]'), function (s) { sel[s.getAttribute('data-filter')] = s.value; });
    var shapeSel = form.querySelector('select[data-filter="shape"]');
    var si = sel.shape ? shapeSel.selectedIndex - 1 : -1;
    var shown = 0;
    each(document.querySelectorAll('table.results tbody tr'), function (tr) {
      var segs = tr.getAttribute('data-v').split('|');
      var ok = ['hw', 'backend', 'quant', 'c'].every(function (k) { return !sel[k] || tr.getAttribute('data-' + k) === sel[k]; });
      if (si >= 0 && !segs[si]) { ok = false; }
      tr.hidden = !ok;
      if (ok) { shown++; }
      [6, 7, 8].forEach(function (col, i) {
        var td = tr.cells[col], v;
        if (si >= 0) { var x = (segs[si] || '').split(',')[i] || ''; v = [x || '—', x]; } else { v = range(segs, i); }
        td.textContent = v[0];
        td.setAttribute('data-sort', v[1]);
      });
    });
    each(document.querySelectorAll('details.family'), function (d) {
      d.hidden = !d.querySelector('tbody tr:not([hidden])');
    });
    each(document.querySelectorAll('.none'), function (p) { p.hidden = shown > 0; });
    var q = [];
    Object.keys(sel).forEach(function (k) { if (sel[k]) { q.push(encodeURIComponent(k) + '=' + encodeURIComponent(sel[k])); } });
    var query = q.length ? '?' + q.join('&') : '';
    each(document.querySelectorAll('a.keep-query'), function (a) {
      var base = a.getAttribute('data-base') || a.getAttribute('href');
      a.setAttribute('data-base', base);
      a.setAttribute('href', base + query);
    });
    try { history.replaceState(null, '', location.pathname + query + location.hash); } catch (e) { /* file:// in some browsers */ }
  }

  each(document.querySelectorAll('table[data-sortable] thead th'), function (th) {
    th.addEventListener('click', function () { sortBy(th); });
  });
  var form = document.querySelector('form[data-filters]');
  if (form) {
    var params = new URLSearchParams(location.search);
    each(form.querySelectorAll('select[data-filter]'), function (s) {
      var want = params.get(s.getAttribute('data-filter'));
      if (want !== null && Array.prototype.some.call(s.options, function (o) { return o.value === want; })) { s.value = want; }
      s.addEventListener('change', function () { apply(form); });
    });
    form.addEventListener('reset', function () { setTimeout(function () { apply(form); }, 0); });
    if (location.search) { apply(form); }
  }
}());
