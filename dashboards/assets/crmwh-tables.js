/*
 * crmwh dashboards: tables that sort, search and page, in the page itself.
 *
 * Every table the renderer writes (<div data-table> around a <table>)
 * holds all its rows (up to the renderer's limit) as HTML, so it works
 * without JavaScript and prints. This script adds, to each: headers that
 * sort on a click (numbers by their value in data-raw, text by the
 * language's collation), a search box over the rows' text, and pages of
 * 25 rows with a count ("1–25 of 1,228"). A link from another page that
 * carries a filter in the address (value.html#?rfm_segment=champions, or
 * #en-value?rfm_segment=champions in a single file) shows only the rows
 * whose column has that value, with a way back to all rows. Nothing is
 * fetched.
 */
(function () {
  'use strict';

  var PAGE = 25;
  var WORDS = {
    en: {
      search: 'Search', prev: 'Previous', next: 'Next', none: 'No rows match.', of: 'of',
      rows: 'rows', filtered: 'Showing', all: 'Show all rows', sort: 'Sort by this column'
    },
    zh: {
      search: '搜索', prev: '上一页', next: '下一页', none: '没有匹配的行。', of: '共',
      rows: '行', filtered: '仅显示', all: '显示全部行', sort: '按此列排序'
    }
  };

  function langOf(el) {
    var holder = el.closest('[data-lang]') || document.body;
    return holder.getAttribute('data-lang') === 'zh' ? 'zh' : 'en';
  }

  function group(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  // filterOf reads a filter (column, value) from the address, if any.
  function filterOf() {
    var h = location.hash.slice(1);
    var q = h.indexOf('?');
    if (q < 0) {
      return null;
    }
    var params = h.slice(q + 1).split('&');
    for (var i = 0; i < params.length; i++) {
      var e = params[i].indexOf('=');
      if (e > 0) {
        var dec = function (x) { return decodeURIComponent(x.replace(/\+/g, ' ')); };
        return { column: dec(params[i].slice(0, e)), value: dec(params[i].slice(e + 1)) };
      }
    }
    return null;
  }

  // keyOf is the value links filter a cell on: its key (a manager's id for
  // the manager's name), or else its raw value.
  function keyOf(td) {
    var k = td.getAttribute('data-f');
    return k !== null ? k : rawOf(td);
  }

  function rawOf(td) {
    var r = td.getAttribute('data-raw');
    return r !== null ? r : td.textContent;
  }

  function setup(wrap) {
    var table = wrap.querySelector('table');
    if (!table || !table.tBodies.length || !table.tBodies[0].rows.length || wrap.hasAttribute('data-ready')) {
      return;
    }
    wrap.setAttribute('data-ready', 'true');
    var lang = langOf(wrap);
    var w = WORDS[lang];
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var collator = new Intl.Collator(lang === 'zh' ? 'zh-CN' : 'en', { numeric: true, sensitivity: 'base' });
    var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
    var state = { col: -1, dir: 1, query: '', filter: null, page: 0 };

    var tools = document.createElement('div');
    tools.className = 'table-tools';
    var search = document.createElement('input');
    search.type = 'search';
    search.placeholder = w.search;
    search.setAttribute('aria-label', w.search);
    var chip = document.createElement('span');
    chip.className = 'table-filter';
    chip.hidden = true;
    var count = document.createElement('span');
    count.className = 'table-count';
    count.setAttribute('aria-live', 'polite');
    var prev = document.createElement('button');
    prev.type = 'button';
    prev.textContent = '‹';
    prev.title = w.prev;
    prev.setAttribute('aria-label', w.prev);
    var next = document.createElement('button');
    next.type = 'button';
    next.textContent = '›';
    next.title = w.next;
    next.setAttribute('aria-label', w.next);
    var pager = document.createElement('span');
    pager.className = 'table-pager';
    pager.appendChild(prev);
    pager.appendChild(count);
    pager.appendChild(next);
    if (rows.length > 10) {
      tools.appendChild(search);
    }
    tools.appendChild(chip);
    tools.appendChild(pager);
    wrap.parentNode.insertBefore(tools, wrap);
    var empty = document.createElement('p');
    empty.className = 'empty';
    empty.textContent = w.none;
    empty.hidden = true;
    wrap.parentNode.insertBefore(empty, wrap.nextSibling);

    heads.forEach(function (th, i) {
      th.tabIndex = 0;
      th.classList.add('sortable');
      th.title = w.sort;
      th.setAttribute('aria-sort', 'none');
      function sortHere() {
        state.dir = state.col === i ? -state.dir : (th.classList.contains('num') ? -1 : 1);
        state.col = i;
        state.page = 0;
        heads.forEach(function (h, j) {
          h.setAttribute('aria-sort', j === i ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
        });
        apply();
      }
      th.addEventListener('click', sortHere);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          sortHere();
        }
      });
    });
    search.addEventListener('input', function () {
      state.query = search.value.trim().toLowerCase();
      state.page = 0;
      apply();
    });
    prev.addEventListener('click', function () { state.page--; apply(); });
    next.addEventListener('click', function () { state.page++; apply(); });

    function compare(a, b) {
      var i = state.col;
      var numeric = heads[i].classList.contains('num');
      var x = rawOf(a.cells[i]);
      var y = rawOf(b.cells[i]);
      if (numeric) {
        var nx = x === '' || x === '-' ? NaN : Number(x);
        var ny = y === '' || y === '-' ? NaN : Number(y);
        if (isNaN(nx) || isNaN(ny)) {
          return isNaN(nx) === isNaN(ny) ? 0 : (isNaN(nx) ? 1 : -1); // missing values last
        }
        return state.dir * (nx - ny);
      }
      return state.dir * collator.compare(x, y);
    }

    function apply() {
      var keep = rows.filter(function (r, i) {
        if (state.query && texts[i].indexOf(state.query) < 0) {
          return false;
        }
        if (state.filter) {
          var td = r.cells[state.filter.index];
          return td && keyOf(td) === state.filter.value;
        }
        return true;
      });
      if (state.col >= 0) {
        keep.sort(compare);
        keep.forEach(function (r) { tbody.appendChild(r); });
      }
      var pages = Math.max(1, Math.ceil(keep.length / PAGE));
      state.page = Math.min(Math.max(state.page, 0), pages - 1);
      var from = state.page * PAGE;
      var shown = {};
      keep.slice(from, from + PAGE).forEach(function (r) { shown[rows.indexOf(r)] = true; });
      rows.forEach(function (r, i) { r.hidden = !shown[i]; });
      count.textContent = keep.length ? (group(from + 1) + '–' + group(Math.min(from + PAGE, keep.length)) + ' ' + w.of + ' ' + group(keep.length)) : '0';
      prev.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
      pager.hidden = rows.length <= PAGE && !state.query && !state.filter;
      empty.hidden = keep.length > 0;
      wrap.setAttribute('data-shown', String(keep.length));
    }

    function applyFilter() {
      var f = filterOf();
      state.filter = null;
      chip.hidden = true;
      chip.textContent = '';
      if (f) {
        for (var i = 0; i < heads.length; i++) {
          if (heads[i].getAttribute('data-key') === f.column) {
            state.filter = { index: i, value: f.value };
            var shownAs = f.value;
            for (var j = 0; j < rows.length; j++) {
              if (keyOf(rows[j].cells[i]) === f.value) {
                shownAs = rows[j].cells[i].textContent;
                break;
              }
            }
            chip.appendChild(document.createTextNode(w.filtered + ' ' + heads[i].textContent + ': ' + shownAs + ' '));
            var all = document.createElement('a');
            all.href = '#' + location.hash.slice(1).split('?')[0];
            all.textContent = w.all;
            chip.appendChild(all);
            chip.hidden = false;
            break;
          }
        }
      }
      state.page = 0;
      apply();
    }
    wrap.crmwhTable = { apply: apply, state: state };
    window.addEventListener('hashchange', applyFilter);
    applyFilter();
  }

  function init() {
    var wraps = document.querySelectorAll('[data-table]');
    for (var i = 0; i < wraps.length; i++) {
      setup(wraps[i]);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
