/*
 * crmwh dashboards: filters that work offline.
 *
 * A page with filters embeds, in <script class="page-filter-data">, the rows
 * of the models its metrics are read from (months and cells of customers:
 * region, acquisition channel, RFM segment) and the metrics' definitions
 * (dashboards/metrics.yaml). When the reader picks a month, region,
 * channel or segment, this script computes every KPI card and trend chart
 * of the page again from those rows: the same sums, ratios, periods,
 * changes, targets and sparklines as the Go renderer (render/metrics.go),
 * which wrote the cards and charts for all customers. A metric whose model
 * has no cells (the CLV by month) is shown for all customers, and says so.
 */
(function () {
  'use strict';

  var MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  var SPARK_MONTHS = 24, SPARK_W = 240, SPARK_H = 40, SPARK_PAD = 3;

  function ymd(s) {
    return { y: Number(s.slice(0, 4)), m: Number(s.slice(5, 7)) - 1 };
  }

  function iso(y, m) {
    var d = new Date(Date.UTC(y, m, 1));
    var mm = d.getUTCMonth() + 1;
    return d.getUTCFullYear() + '-' + (mm < 10 ? '0' : '') + mm + '-01';
  }

  function addMonths(s, n) {
    var t = ymd(s);
    return iso(t.y, t.m + n);
  }

  function monthText(s, lang) {
    var t = ymd(s);
    return lang === 'zh' ? t.y + '年' + (t.m + 1) + '月' : MON[t.m] + ' ' + t.y;
  }

  function signed(v, d) {
    var body = crmwh.fixed(Math.abs(v), d, false);
    if (v < 0 && body.replace(/[0.,]/g, '') !== '') {
      return '-' + body;
    }
    if (body.replace(/[0.,]/g, '') === '') {
      return body;
    }
    return '+' + body;
  }

  // delta mirrors Formatter.Delta.
  function delta(cur, prev, format, lang) {
    if (format === 'percent') {
      var ch = (cur - prev) * 100;
      return { text: signed(ch, 1) + (lang === 'zh' ? '个百分点' : ' pp'), change: ch };
    }
    if (prev === 0) {
      return null;
    }
    var c = (cur - prev) / Math.abs(prev);
    return { text: signed(c * 100, 1) + '%', change: c };
  }

  // direction mirrors shownDirection: a change that rounds to zero is flat.
  function direction(change, good, text) {
    if (text !== undefined && text.replace(/[+\-0.,% pp个百分点]/g, '') === '') {
      return ['flat', 'neutral'];
    }
    if (change > 0) {
      return ['up', good === 'up' ? 'good' : 'bad'];
    }
    if (change < 0) {
      return ['down', good === 'down' ? 'good' : 'bad'];
    }
    return ['flat', 'neutral'];
  }

  function Page(root, fd) {
    this.root = root;
    this.fd = fd;
    this.lang = fd.lang;
    this.filters = {};
    this.until = fd.until || '';
  }

  // series mirrors metricStore.series: a metric's sums by complete month
  // over the rows the filters keep.
  Page.prototype.series = function (name) {
    var m = this.fd.metrics[name];
    var mod = this.fd.models[m.from];
    var s = { m: m, name: name, months: [], num: [], den: m.over ? [] : null, mature: [], valid: [], filtered: false };
    var keep = [];
    var self = this;
    Object.keys(this.filters).forEach(function (col) {
      var v = self.filters[col];
      if (v === '') {
        return;
      }
      if (mod.cells[col]) {
        keep.push([mod.cells[col], mod.values[col].indexOf(v)]);
        s.filtered = true;
      } else {
        s.unfiltered = true;
      }
    });
    var at = {};
    for (var i = 0; i < mod.month.length; i++) {
      var ok = true;
      for (var k = 0; k < keep.length; k++) {
        if (keep[k][0][i] !== keep[k][1]) {
          ok = false;
          break;
        }
      }
      if (!ok || (m.complete && mod.flags[m.complete][i] === 0)) {
        continue;
      }
      var month = this.fd.months[mod.month[i]];
      var j = at[month];
      if (j === undefined) {
        j = s.months.length;
        at[month] = j;
        s.months.push(month);
        s.num.push(0);
        if (s.den) {
          s.den.push(0);
        }
        s.mature.push(true);
        s.valid.push(true);
      }
      s.num[j] += mod.cols[m.sum][i];
      if (s.den) {
        s.den[j] += mod.cols[m.over][i];
      }
      if (m.mature && mod.flags[m.mature][i] === 0) {
        s.mature[j] = false;
      }
      if (m.valid && mod.flags[m.valid][i] === 0) {
        s.valid[j] = false;
      }
    }
    s.at = at;
    return s;
  };

  function value(s, i) {
    if (i < 0 || i >= s.months.length || !s.valid[i]) {
      return null;
    }
    if (s.den) {
      return s.den[i] === 0 ? null : s.num[i] / s.den[i] * s.m.scale;
    }
    return s.num[i] * s.m.scale;
  }

  function find(s, month) {
    var j = s.at[month];
    return j === undefined ? -1 : j;
  }

  function contiguous(s, from, to) {
    for (var i = from + 1; i <= to; i++) {
      if (s.months[i] !== addMonths(s.months[i - 1], 1)) {
        return false;
      }
    }
    return true;
  }

  // period mirrors series.period.
  function period(s, from, to) {
    if (from < 0 || to >= s.months.length || from > to) {
      return null;
    }
    var num = 0, den = 0, sum = 0, prov = false;
    for (var i = from; i <= to; i++) {
      var x = value(s, i);
      if (x === null) {
        return null;
      }
      prov = prov || !s.mature[i];
      num += s.num[i];
      if (s.den) {
        den += s.den[i];
      }
      sum += x;
    }
    switch (s.m.months) {
      case 'sum': return { v: num * s.m.scale, prov: prov };
      case 'ratio': return den === 0 ? null : { v: num / den * s.m.scale, prov: prov };
      case 'mean': return { v: sum / (to - from + 1), prov: prov };
      case 'last': return { v: value(s, to), prov: !s.mature[to] };
    }
    return null;
  }

  function latest(s, until) {
    for (var i = s.months.length - 1; i >= 0; i--) {
      if (!until || s.months[i] <= until) {
        return i;
      }
    }
    return -1;
  }

  Page.prototype.target = function (name, month) {
    var ts = this.fd.targets[name] || [];
    var v = null;
    for (var i = 0; i < ts.length; i++) {
      if (!ts[i][0] || ts[i][0] + '-01' <= month) {
        v = ts[i][1];
      }
    }
    return v;
  };

  // kpi mirrors metricKPI.
  Page.prototype.kpi = function (s) {
    var lang = this.lang, w = this.fd.texts, m = s.m, self = this;
    var fmt = m.format;
    var k = { text: '-', full: '-', period: '', changes: [], periods: [], note: '' };
    var cur = latest(s, this.until);
    if (cur < 0) {
      return k;
    }
    var month = s.months[cur];
    k.period = monthText(month, lang);
    var v = value(s, cur);
    if (v === null) {
      k.blank = true;
      k.note = w.Blank;
    } else {
      k.text = crmwh.format(v, fmt, true, lang);
      k.full = crmwh.format(v, fmt, false, lang);
      k.provisional = !s.mature[cur];
    }
    function change(key, other, vs) {
      if (v === null || other < 0) {
        return;
      }
      var pv = value(s, other);
      if (pv === null) {
        return;
      }
      var d = delta(v, pv, fmt, lang);
      if (!d) {
        return;
      }
      var dt = direction(d.change, m.good, d.text);
      k.changes.push({ key: key, text: d.text, dir: dt[0], tone: k.provisional || !s.mature[other] ? 'neutral' : dt[1], vs: vs });
    }
    change('mom', find(s, addMonths(month, -1)), w.MoM + ' ' + monthText(addMonths(month, -1), lang));
    change('yoy', find(s, addMonths(month, -12)), w.YoY + ' ' + monthText(addMonths(month, -12), lang));
    if (m.months !== 'none' && m.months !== 'last' && v !== null) {
      var mean = m.months === 'mean';
      [['ytd', mean ? w.YTDMean : w.YTD, find(s, month.slice(0, 4) + '-01-01')],
        ['ttm', mean ? w.TTMMean : w.TTM, find(s, addMonths(month, -11))]].forEach(function (p) {
        var from = p[2];
        if (from < 0 || !contiguous(s, from, cur)) {
          return;
        }
        var pv = period(s, from, cur);
        if (!pv) {
          return;
        }
        var kp = { key: p[0], label: p[1], text: crmwh.format(pv.v, fmt, true, lang), full: crmwh.format(pv.v, fmt, false, lang) };
        var a = find(s, addMonths(s.months[from], -12)), b = find(s, addMonths(month, -12));
        if (a >= 0 && b >= 0 && b - a === cur - from && contiguous(s, a, b)) {
          var qv = period(s, a, b);
          if (qv) {
            var d = delta(pv.v, qv.v, fmt, lang);
            if (d) {
              var dt = direction(d.change, m.good, d.text);
              kp.change = d.text;
              kp.dir = dt[0];
              kp.tone = pv.prov || qv.prov ? 'neutral' : dt[1];
            }
          }
        }
        k.periods.push(kp);
      });
    }
    var t = this.target(s.name, month);
    if (t !== null) {
      k.target = { text: w.Target + ' ' + crmwh.format(t, fmt, true, lang), tone: 'neutral', gap: '' };
      if (v !== null) {
        var d = delta(v, t, fmt, lang);
        if (d) {
          k.target.gap = d.text;
          k.target.tone = d.change === 0 ? 'good' : direction(d.change, m.good, d.text)[1];
        }
      }
    }
    k.spark = this.spark(s, cur);
    return k;
  };

  Page.prototype.spark = function (s, cur) {
    var from = Math.max(0, cur - SPARK_MONTHS + 1), n = cur - from + 1, self = this;
    if (n < 2) {
      return null;
    }
    var vals = [], tvals = [], lo = Infinity, hi = -Infinity, anyT = false;
    for (var i = 0; i < n; i++) {
      var v = value(s, from + i);
      vals.push(v);
      if (v !== null) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      var t = self.target(s.name, s.months[from + i]);
      tvals.push(t);
      if (t !== null) {
        anyT = true;
        lo = Math.min(lo, t);
        hi = Math.max(hi, t);
      }
    }
    if (!isFinite(lo)) {
      return null;
    }
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    function xy(i, v) {
      return [(SPARK_PAD + (SPARK_W - 2 * SPARK_PAD) * i / (n - 1)).toFixed(1), (SPARK_PAD + (SPARK_H - 2 * SPARK_PAD) * (hi - v) / (hi - lo)).toFixed(1)];
    }
    function join(vs) {
      var parts = [];
      vs.forEach(function (v, i) {
        if (v !== null) {
          parts.push(xy(i, v).join(','));
        }
      });
      return parts.join(' ');
    }
    var sp = { points: join(vals), target: anyT ? join(tvals) : '' };
    if (vals[n - 1] !== null) {
      sp.last = xy(n - 1, vals[n - 1]);
      sp.provisional = !s.mature[cur];
    }
    return sp;
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function arrow(dir) {
    var a = el('span', 'arrow', dir === 'up' ? '▲' : dir === 'down' ? '▼' : '■');
    a.setAttribute('aria-hidden', 'true');
    return a;
  }

  var SVG = 'http://www.w3.org/2000/svg';

  // drawKPI writes a card as the template "metric-kpi" does.
  Page.prototype.drawKPI = function (box, k) {
    var w = this.fd.texts;
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    var pv = el('p', 'kpi-value');
    pv.title = k.full;
    pv.appendChild(el('span', 'v', k.text));
    if (k.provisional) {
      pv.appendChild(document.createTextNode(' '));
      pv.appendChild(el('span', 'badge provisional', w.Provisional));
    }
    box.appendChild(pv);
    var pp = el('p', 'kpi-period', k.period);
    if (k.note) {
      pp.appendChild(document.createTextNode(' · '));
      pp.appendChild(el('span', 'kpi-blank', k.note));
    }
    box.appendChild(pp);
    if (k.changes.length) {
      var ul = el('ul', 'kpi-changes');
      k.changes.forEach(function (c) {
        var li = el('li', 'kpi-delta ' + c.dir + ' ' + c.tone);
        li.setAttribute('data-k', c.key);
        li.appendChild(arrow(c.dir));
        li.appendChild(document.createTextNode(' ' + c.text + ' '));
        li.appendChild(el('span', 'vs', c.vs));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    if (k.periods.length) {
      var pr = el('p', 'kpi-periods');
      k.periods.forEach(function (p, i) {
        if (i) {
          pr.appendChild(document.createTextNode(' · '));
        }
        var sp = el('span');
        sp.setAttribute('data-k', p.key);
        sp.title = p.full;
        sp.appendChild(document.createTextNode(p.label + ' '));
        sp.appendChild(el('strong', '', p.text));
        if (p.change) {
          sp.appendChild(document.createTextNode(' '));
          sp.appendChild(el('span', 'kpi-delta ' + p.dir + ' ' + p.tone, p.change));
        }
        pr.appendChild(sp);
      });
      box.appendChild(pr);
    }
    if (k.target) {
      box.appendChild(el('p', 'kpi-target ' + k.target.tone, k.target.text + (k.target.gap ? ' · ' + k.target.gap : '')));
    }
    if (k.spark) {
      var svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('class', 'spark');
      svg.setAttribute('viewBox', '0 0 240 40');
      svg.setAttribute('preserveAspectRatio', 'none');
      svg.setAttribute('aria-hidden', 'true');
      if (k.spark.target) {
        var t = document.createElementNS(SVG, 'polyline');
        t.setAttribute('class', 'spark-target');
        t.setAttribute('points', k.spark.target);
        svg.appendChild(t);
      }
      var line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('class', 'spark-line');
      line.setAttribute('points', k.spark.points);
      svg.appendChild(line);
      if (k.spark.last) {
        var c = document.createElementNS(SVG, 'circle');
        c.setAttribute('class', 'spark-last' + (k.spark.provisional ? ' provisional' : ''));
        c.setAttribute('r', '3');
        c.setAttribute('cx', k.spark.last[0]);
        c.setAttribute('cy', k.spark.last[1]);
        svg.appendChild(c);
      }
      box.appendChild(svg);
    }
  };

  // drawChart computes a trend chart's series again and redraws it.
  Page.prototype.drawChart = function (box) {
    var self = this, lang = this.lang;
    var orig = box.crmwhData || (box.crmwhData = document.getElementById(box.id + '-data').textContent);
    var data = JSON.parse(orig);
    var months = data.months.filter(function (m) { return !self.until || m <= self.until; });
    var ss = data.metrics.map(function (n) { return self.series(n); });
    var opt = data.option;
    (opt.xAxis || [])[0].data = months.map(function (m) { return monthText(m, lang); });
    data.provisional = {};
    ss.forEach(function (s, si) {
      opt.series[si].data = months.map(function (m, i) {
        var j = find(s, m);
        if (j >= 0 && !s.mature[j]) {
          (data.provisional[si] = data.provisional[si] || []).push(i);
        }
        var v = value(s, j);
        return v === null ? '-' : v;
      });
    });
    data.months = months;
    if (data.target) {
      data.target.values = months.map(function (m) { return self.target(data.metrics[0], m); });
    }
    crmwh.redraw(box, data);
    return ss.some(function (s) { return s.unfiltered; });
  };

  Page.prototype.refresh = function () {
    var self = this;
    var cards = this.root.querySelectorAll('.kpi[data-metric]');
    Array.prototype.forEach.call(cards, function (box) {
      var s = self.series(box.getAttribute('data-metric'));
      self.drawKPI(box, self.kpi(s));
      self.note(box, s.unfiltered);
    });
    var charts = this.root.querySelectorAll('[data-echart][data-metrics]');
    Array.prototype.forEach.call(charts, function (box) {
      if (box.hasAttribute('data-drawn')) {
        self.note(box, self.drawChart(box));
      }
    });
    this.root.setAttribute('data-filtered', JSON.stringify(this.filters) + ' ' + this.until);
  };

  Page.prototype.note = function (box, unfiltered) {
    var fig = box.closest('figure');
    var n = fig && fig.querySelector('.unfiltered');
    if (n) {
      n.hidden = !unfiltered;
    }
  };

  function setup(root) {
    var form = root.querySelector('form[data-filters]');
    var script = root.querySelector('script.page-filter-data');
    if (!form || !script || form.hasAttribute('data-ready')) {
      return;
    }
    form.setAttribute('data-ready', 'true');
    var page = new Page(root, JSON.parse(script.textContent));
    var selects = form.querySelectorAll('select[data-filter]');
    function read() {
      page.filters = {};
      Array.prototype.forEach.call(selects, function (s) {
        if (s.getAttribute('data-filter') === 'period') {
          page.until = s.value;
        } else {
          page.filters[s.getAttribute('data-column')] = s.value;
        }
      });
      page.refresh();
    }
    Array.prototype.forEach.call(selects, function (s) { s.addEventListener('change', read); });
    form.addEventListener('reset', function () { setTimeout(read, 0); });
    form.hidden = false;
    root.crmwhFilters = { page: page, read: read };
  }

  function init() {
    var roots = document.querySelectorAll('.view');
    if (!roots.length) {
      roots = [document.body];
    }
    Array.prototype.forEach.call(roots, setup);
  }

  window.crmwhMetrics = { init: init };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
