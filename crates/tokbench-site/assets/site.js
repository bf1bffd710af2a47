// tokbench results: sort tables by clicking a header; filter rows by
// hardware, backend, quant, shape and concurrency, kept in the query string
// (?hw=…&shape=…). Plain DOM, no libraries, works from file://.
// The index renders only the fastest rows of each family; its facet data
// (all rows) keeps a family shown, and counted, when only rows that are
// not rendered match.
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

  // Range of the per-shape strings at position i of data-v ("g,t,p,bw|…",
  // or "g,t,p,bw,answer,goodput|…" for rows that have either).
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

  // Facets of every row of each index family (also the rows not rendered):
  // {slug, hw, backend, quant, c, shape: dictionaries; rows: [[hw, backend,
  // quant, c, shape, count]]} (see src/facets.rs). Absent on other pages.
  function loadFacets() {
    var el = document.getElementById('facets'), out = {}, list = null;
    try { list = el ? JSON.parse(el.textContent) : null; } catch (e) { list = null; }
    if (Array.isArray(list)) { list.forEach(function (f) { if (f && f.slug) { out['family-' + f.slug] = f; } }); }
    return out;
  }
  var facets = loadFacets();

  var KEYS = ['hw', 'backend', 'quant', 'c'];

  // [matching rows, all rows] of family facets f under the selection sel
  // (si: index of the selected shape, -1 for any).
  function facetCount(f, sel, si) {
    // Dictionary index wanted per key; -1 (never matches) when the family
    // lacks the selected value, null when the key is not filtered.
    var want = KEYS.map(function (k) { return sel[k] ? (f[k] || []).indexOf(sel[k]) : null; });
    var shapeOk = (f.shape || []).map(function (set) { return si < 0 || set.indexOf(si) >= 0; });
    var match = 0, all = 0;
    (f.rows || []).forEach(function (t) {
      all += t[5];
      if (shapeOk[t[4]] && want.every(function (w, i) { return w === null || t[i] === w; })) { match += t[5]; }
    });
    return [match, all];
  }

  // Sets the text of element el, or restores its original text (kept in
  // data-text the first time) when text is null.
  function setText(el, text) {
    if (!el) { return; }
    if (!el.hasAttribute('data-text')) { el.setAttribute('data-text', el.textContent); }
    el.textContent = text === null ? el.getAttribute('data-text') : text;
  }

  var plural = function (n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); };

  // Summary count and "more" line of index family d. match: how many of
  // its rows match the filters, of all rows; shown: how many rendered rows
  // match; active: a filter is set (otherwise the original texts return).
  function familyText(d, match, all, shown, active) {
    var rendered = d.querySelectorAll('tbody tr').length;
    var count = '(' + match + ' of ' + plural(all, 'result') + (match === 1 ? ' matches)' : ' match)');
    setText(d.querySelector('summary .count'), active ? count : null);
    var p = d.querySelector('p.more'), a = p && p.querySelector('a.keep-query');
    var more = active && all > rendered;
    if (!a || (!more && !p.querySelector('span.lead'))) { return; }
    if (!p.querySelector('span.lead')) {
      var lead = document.createElement('span');
      lead.className = 'lead';
      while (p.firstChild && p.firstChild !== a) { lead.appendChild(p.firstChild); }
      p.insertBefore(lead, a);
    }
    var text = more ? moreText(match, shown, rendered) : [null, null];
    setText(p.querySelector('span.lead'), text[0]);
    setText(a, text[1]);
  }

  // [lead, link text] of the "more" line of a family with match matching
  // rows, shown of them among its rendered ones (null: the original text).
  function moreText(match, shown, rendered) {
    if (shown === match) { return ['All ' + plural(match, 'matching result') + ' shown here. ', null]; }
    if (shown > 0) { return ['Showing ' + shown + ' of ' + plural(match, 'matching result') + '; ', 'all ' + match + ' on the family page →']; }
    if (match === 1) { return ['The one matching result is not among the ' + rendered + ' fastest shown here; ', 'see it on the family page →']; }
    return ['None of the ' + match + ' matching results is among the ' + rendered + ' fastest shown here; ', 'all ' + match + ' on the family page →'];
  }

  // Shows an index family when any of its rows (rendered or not) matches;
  // returns how many of its rows match beyond the rendered ones.
  function applyFamily(d, sel, si, active) {
    var rows = d.querySelectorAll('tbody tr');
    var here = d.querySelectorAll('tbody tr:not([hidden])').length;
    var f = facets[d.id], c = f ? facetCount(f, sel, si) : [here, rows.length];
    var match = Math.max(c[0], here);
    d.hidden = active && match === 0;
    var table = d.querySelector('table.results');
    if (table) { table.hidden = active && here === 0; }
    if (f) { familyText(d, match, Math.max(c[1], rows.length), here, active); }
    return match - here;
  }

  function apply(form) {
    var sel = {};
    each(form.querySelectorAll('select[data-filter]'), function (s) { sel[s.getAttribute('data-filter')] = s.value; });
    var shapeSel = form.querySelector('select[data-filter="shape"]');
    var si = sel.shape ? shapeSel.selectedIndex - 1 : -1;
    var active = Object.keys(sel).some(function (k) { return sel[k]; });
    var shown = 0;
    each(document.querySelectorAll('table.results tbody tr'), function (tr) {
      var segs = tr.getAttribute('data-v').split('|');
      var ok = KEYS.every(function (k) { return !sel[k] || tr.getAttribute('data-' + k) === sel[k]; });
      if (si >= 0 && !segs[si]) { ok = false; }
      tr.hidden = !ok;
      if (ok) { shown++; }
      each(tr.querySelectorAll('td.n'), function (td, j) {
        var i = td.hasAttribute('data-i') ? +td.getAttribute('data-i') : j, v;
        if (si >= 0) { var x = (segs[si] || '').split(',')[i] || ''; v = [x || '—', x]; } else { v = range(segs, i); }
        td.textContent = v[0];
        td.setAttribute('data-sort', v[1]);
      });
    });
    var matches = shown;
    each(document.querySelectorAll('details.family'), function (d) { matches += applyFamily(d, sel, si, active); });
    each(document.querySelectorAll('.none'), function (p) { p.hidden = !active || matches > 0; });
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
