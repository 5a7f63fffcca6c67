/*
 * crmwh dashboards: draws the ECharts charts of a page rendered by crmwh.
 *
 * Each chart is a <div data-echart id="chart-<page>-<chart>"> followed by a
 * <script type="application/json" id="chart-<page>-<chart>-data"> holding
 * {kind, format: {x, y, value}, option}. The option was built by
 * go-echarts; this script adds what JSON cannot carry: number formatters
 * for axes, labels and tooltips, the page's fonts, and ECharts' own locale
 * (its toolbox and other texts) in the page's language. It reads no other
 * file and makes no network request, so pages work from file://.
 *
 * In a single-file site (<body data-single>) every page of every language
 * is a <div class="view" id="<lang>-<page>">; the script shows the one the
 * address's #fragment names (the first one by default) and draws its
 * charts when it is first shown.
 *
 * crmwh.format mirrors Formatter.Number and Formatter.Compact of the Go
 * package crmwh/dashboards/render exactly; a browser test checks both agree.
 */
(function () {
  'use strict';

  var SYMBOLS = { CNY: '¥', USD: '$', EUR: '€', GBP: '£', JPY: 'JP¥', HKD: 'HK$' };
  var MISSING = '-';

  var body = document.body;
  var single = body.hasAttribute('data-single');
  var animate = body.getAttribute('data-animation') !== 'off';
  var first = single ? document.querySelector('.view') : body;
  var defaultLang = first && first.getAttribute('data-lang') === 'zh' ? 'zh' : 'en';
  var defaultCurrency = (first && first.getAttribute('data-currency')) || 'CNY';

  function symbol(code) {
    return Object.prototype.hasOwnProperty.call(SYMBOLS, code) ? SYMBOLS[code] : code + ' ';
  }

  function group(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  // fixed writes a >= 0 rounded half away from zero to d decimals, grouped.
  function fixed(a, d, trim) {
    var p = Math.pow(10, d);
    var s = (Math.round(a * p) / p).toFixed(d);
    var parts = s.split('.');
    var frac = parts.length > 1 ? parts[1] : '';
    if (trim) {
      frac = frac.replace(/0+$/, '');
    }
    return group(parts[0]) + (frac ? '.' + frac : '');
  }

  function sign(v, text) {
    return v < 0 && text.replace(/[0.,%]/g, '') !== '' ? '-' : '';
  }

  function units(lang) {
    // [from, size, suffix]: from `from` up, divided by size.
    return lang === 'zh'
      ? [[1e8, 1e8, '亿'], [1e4, 1e4, '万']]
      : [[1e9, 1e9, 'B'], [1e6, 1e6, 'M'], [1e4, 1e3, 'K']];
  }

  // format writes v like the Go Formatter: compact for axes, labels and
  // KPI cards, in full for tooltips and tables. lang and currency default
  // to the page's.
  function format(v, fmt, compact, lang, currency) {
    lang = lang || defaultLang;
    currency = currency || defaultCurrency;
    if (typeof v === 'string' && v !== '' && v !== '-' && isFinite(Number(v))) {
      v = Number(v);
    }
    if (typeof v !== 'number' || !isFinite(v)) {
      return MISSING;
    }
    var text;
    if (fmt === 'percent') {
      text = fixed(Math.abs(v) * 100, 1, compact);
      return sign(v, text) + text + '%';
    }
    var sym = fmt === 'currency' ? symbol(currency) : '';
    var a = Math.abs(v);
    if (compact && a >= 1e4) {
      var us = units(lang);
      for (var i = 0; i < us.length; i++) {
        if (a >= us[i][0]) {
          text = fixed(a / us[i][1], 2, true) + us[i][2];
          break;
        }
      }
    } else if (fmt === 'thousands') {
      text = fixed(a, 0, false);
    } else if (fmt === 'currency' && !compact) {
      text = fixed(a, 2, false);
    } else {
      text = fixed(a, 2, true);
    }
    return sign(v, text) + sym + text;
  }

  // axisUnit chooses one unit for every label of a value axis from the
  // largest value on it, so that an axis never mixes "10K" and "8,000".
  function axisUnit(maxAbs, lang) {
    if (!(maxAbs >= 1e4)) {
      return null;
    }
    var us = units(lang);
    for (var i = 0; i < us.length; i++) {
      if (maxAbs >= us[i][0]) {
        return us[i];
      }
    }
    return null;
  }

  function formatInUnit(v, fmt, unit, lang, currency) {
    if (!unit || typeof v !== 'number' || !isFinite(v) || fmt === 'percent') {
      return format(v, fmt, true, lang, currency);
    }
    var sym = fmt === 'currency' ? symbol(currency || defaultCurrency) : '';
    var text = v === 0 ? '0' : fixed(Math.abs(v) / unit[1], 2, true) + unit[2];
    return sign(v, text) + sym + text;
  }

  // axisMax is the largest absolute value a chart draws on a value axis:
  // index 0 of [x, y] points for x, 1 for y, plain numbers for the values.
  function axisMax(option, which) {
    var m = 0;
    (option.series || []).forEach(function (s) {
      (s.data || []).forEach(function (d) {
        var v = d;
        if (d && typeof d === 'object' && !Array.isArray(d)) {
          v = d.value;
        }
        if (Array.isArray(v)) {
          v = v[which];
        }
        if (typeof v === 'number' && isFinite(v)) {
          m = Math.max(m, Math.abs(v));
        }
      });
    });
    return m;
  }

  function esc(s) {
    return echarts.format.encodeHTML(s == null ? '' : String(s));
  }

  // decorate adds to an option what JSON could not carry.
  function decorate(data, el, lang, currency) {
    var option = data.option;
    var kind = data.kind;
    var f = data.format || {};
    var yf = f.y || 'number';
    var xf = f.x || 'number';
    var vf = f.value || 'number';
    function fmt(v, which, compact) {
      return format(v, which, compact, lang, currency);
    }
    option.animation = animate;
    option.textStyle = { fontFamily: window.getComputedStyle(el).fontFamily };
    ['xAxis', 'yAxis'].forEach(function (key) {
      (option[key] || []).forEach(function (axis) {
        if (key === 'yAxis' && axis.name && !axis.nameLocation) {
          // The name above the axis starts at the axis, not centred on it,
          // so that it is not cut at the chart's left edge.
          axis.nameTextStyle = { align: 'left' };
        }
        if (axis.type !== 'value') {
          return;
        }
        var isX = key === 'xAxis';
        var af = (kind === 'scatter' || data.continuous) && isX ? xf : yf;
        var unit = axisUnit(axisMax(option, isX ? 0 : 1), lang);
        axis.axisLabel = axis.axisLabel || {};
        axis.axisLabel.formatter = function (v) { return formatInUnit(v, af, unit, lang, currency); };
        axis.axisLabel.hideOverlap = true; // a tick label may go, never two on top of each other
      });
    });
    option.tooltip = option.tooltip || {};
    var series = option.series || [];
    // Labels that would overlap are left out (values stay in tooltips).
    series.forEach(function (s) {
      if (s.label || kind === 'heatmap' || kind === 'pie' || kind === 'funnel') {
        s.labelLayout = { hideOverlap: true };
      }
    });
    switch (kind) {
      case 'pie':
      case 'funnel':
      case 'treemap':
        option.tooltip.valueFormatter = function (v) { return fmt(v, vf, false); };
        if (kind !== 'pie') {
          series.forEach(function (s) {
            s.label = s.label || {};
            s.label.formatter = function (p) { return p.name + '\n' + fmt(p.value, vf, true); };
          });
        }
        break;
      case 'heatmap':
        option.tooltip.formatter = function (p) {
          var x = option.xAxis[0].data[p.value[0]];
          var y = option.yAxis[0].data[p.value[1]];
          return esc(y) + ' · ' + esc(x) + '<br>' + p.marker + esc(p.seriesName) + ': <b>' + esc(fmt(p.value[2], vf, false)) + '</b>';
        };
        series.forEach(function (s) {
          s.label = s.label || {};
          s.label.formatter = function (p) { return fmt(p.value[2], vf, true); };
        });
        break;
      case 'scatter':
        option.tooltip.formatter = function (p) {
          var xName = option.xAxis[0].name || 'x';
          var yName = option.yAxis[0].name || 'y';
          var s = p.marker + esc(p.seriesName) + '<br>';
          if (p.name) {
            s += '<b>' + esc(p.name) + '</b><br>';
          }
          return s + esc(xName) + ': ' + esc(fmt(p.value[0], xf, false)) + '<br>' +
            esc(yName) + ': ' + esc(fmt(p.value[1], yf, false));
        };
        break;
      default: // line, bar, stacked_bar, area
        option.tooltip.valueFormatter = function (v) { return fmt(v, yf, false); };
        if (data.continuous) {
          option.tooltip.formatter = function (ps) {
            var out = esc(fmt(ps[0].value[0], xf, false));
            ps.forEach(function (p) {
              out += '<br>' + p.marker + esc(p.seriesName) + ': <b>' + esc(fmt(p.value[1], yf, false)) + '</b>';
            });
            return out;
          };
        }
    }
    metricStyles(data, option);
    return option;
  }

  // metricStyles draws the provisional points of a trend chart paler, and
  // its target as a dashed line.
  function metricStyles(data, option) {
    var series = option.series || [];
    Object.keys(data.provisional || {}).forEach(function (si) {
      var s = series[Number(si)];
      if (!s) {
        return;
      }
      data.provisional[si].forEach(function (i) {
        var d = s.data[i];
        var v = d && typeof d === 'object' && !Array.isArray(d) ? d.value : d;
        s.data[i] = { value: v, itemStyle: { opacity: 0.45 }, symbol: 'emptyCircle' };
      });
    });
    if (data.target) {
      series.push({
        name: data.target.name, type: 'line', symbol: 'none',
        data: data.target.values.map(function (v) { return v === null ? '-' : v; }),
        lineStyle: { type: 'dashed', width: 1.5, color: '#5b6775' }, itemStyle: { color: '#5b6775' },
        tooltip: { show: true }
      });
      if (option.legend && option.legend.length) {
        option.legend[0].show = true;
      }
    }
  }

  var drawn = [];
  var MONTH_LABEL = /^(\w{3} \d{4}|\d{4}年\d{1,2}月)$/;

  // fitLabels gives every name of a category axis along the bottom its
  // share of the width, wrapping long names onto more lines, so that no
  // name is dropped for want of room (months may be thinned instead).
  function fitLabels(chart) {
    var option = chart.getOption();
    if (option.legend && option.legend.length && option.legend[0].show !== false) {
      // The legend and its pager end left of the toolbox's icon.
      chart.setOption({ legend: [{ width: Math.max(80, chart.getWidth() - 64) }] });
    }
    var funnel = (option.series || []).filter(function (s) { return s.type === 'funnel'; });
    if (funnel.length) {
      // A funnel's labels sit right of it, in the last third of the width.
      chart.setOption({ series: [{ label: { width: Math.floor(chart.getWidth() * 0.3) - 8, overflow: 'break' } }] });
      return;
    }
    var side = option.yAxis && option.yAxis[0];
    if (side && side.type === 'category') {
      // Names down the side get at most a third of a narrow chart.
      chart.setOption({ yAxis: [{ axisLabel: { width: Math.min(220, Math.floor(chart.getWidth() / 3)) } }] });
    }
    var axis = option.xAxis && option.xAxis[0];
    if (!axis || axis.type !== 'category' || !axis.data || !axis.data.length) {
      return;
    }
    var names = axis.data.map(function (d) { return String(d && d.value !== undefined ? d.value : d); });
    var heat = (option.series || []).some(function (s) { return s.type === 'heatmap'; });
    if (heat) {
      // Cell values only where a cell is wide enough for them.
      var cell = chart.getWidth() * 0.85 / names.length;
      chart.setOption({ series: [{ label: { show: cell >= 34 && (option.yAxis[0].data || []).length * 14 <= chart.getHeight() } }] });
    }
    if (names.some(function (n) { return MONTH_LABEL.test(n); }) || names.every(function (n) { return /^-?\d+$/.test(n); })) {
      // Months and numbers in a row are thinned out evenly, as ECharts
      // measures them, rather than dropped where they touch.
      chart.setOption({ xAxis: [{ axisLabel: { interval: 'auto', hideOverlap: true } }] });
      return;
    }
    var each = Math.max(24, Math.floor(chart.getWidth() * 0.8 / names.length) - 6);
    // The axis name goes below the wrapped names: as many lines as the
    // longest one needs.
    var ctx = measurer.getContext('2d');
    ctx.font = '12px ' + ((option.textStyle && option.textStyle[0] && option.textStyle[0].fontFamily) || 'sans-serif');
    var lines = 1;
    names.forEach(function (n) {
      lines = Math.max(lines, Math.ceil(ctx.measureText(n).width / each));
    });
    var fit = { axisLabel: { interval: 0, hideOverlap: false, width: each, overflow: 'breakAll' } };
    if (axis.name) {
      fit.nameGap = 12 + 15 * lines;
    }
    chart.setOption({ xAxis: [fit] });
  }
  var measurer = document.createElement('canvas');

  function draw(el) {
    var holder = el.closest('[data-lang]') || body;
    var lang = holder.getAttribute('data-lang') === 'zh' ? 'zh' : 'en';
    var currency = holder.getAttribute('data-currency') || defaultCurrency;
    var data = JSON.parse(document.getElementById(el.id + '-data').textContent);
    var option = decorate(data, el, lang, currency);
    var chart = echarts.init(el, null, {
      locale: lang === 'zh' ? 'ZH' : 'EN', renderer: 'canvas',
      devicePixelRatio: body.hasAttribute('data-print') ? 2 : undefined
    });
    chart.on('finished', function () { el.setAttribute('data-rendered', 'true'); });
    if (data.link) {
      // A click on an item opens the linked page, filtered to its value.
      chart.on('click', function (p) {
        var v = data.link.values[p.name];
        if (v !== undefined) {
          window.location.href = data.link.href + encodeURIComponent(v);
        }
      });
      el.classList.add('linked');
    }
    chart.setOption(option);
    fitLabels(chart);
    el.setAttribute('data-drawn', 'true');
    drawn.push(chart);
    return chart;
  }

  // drawIn draws the charts inside root that are not drawn yet, and fits
  // the others to their (possibly new) size.
  function drawIn(root) {
    var els = root.querySelectorAll('[data-echart]');
    if (!els.length) {
      return;
    }
    if (typeof echarts === 'undefined') {
      for (var i = 0; i < els.length; i++) {
        els[i].textContent = 'assets/echarts.min.js did not load.';
      }
      return;
    }
    for (var j = 0; j < els.length; j++) {
      if (els[j].hasAttribute('data-drawn')) {
        echarts.getInstanceByDom(els[j]).resize();
        fitLabels(echarts.getInstanceByDom(els[j]));
      } else {
        draw(els[j]);
      }
    }
  }

  // viewID is the view a single file's address names: its fragment up to
  // a "?", after which links carry a filter (#en-value?rfm_segment=champions).
  function viewID() {
    var h = location.hash.slice(1);
    var q = h.indexOf('?');
    return q < 0 ? h : h.slice(0, q);
  }

  // show shows one view of a single-file site: the one named by id, or
  // else the first.
  function show(id) {
    var views = document.querySelectorAll('.view');
    var target = id ? document.getElementById(id) : null;
    if (!target || !target.classList.contains('view')) {
      target = views[0];
    }
    for (var i = 0; i < views.length; i++) {
      views[i].classList.toggle('shown', views[i] === target);
    }
    document.title = target.getAttribute('data-title');
    document.documentElement.lang = target.getAttribute('lang');
    drawIn(target);
    window.scrollTo(0, 0);
  }

  // printAll shows every view of a print document and draws all their
  // charts, sharp enough for paper; <body data-printed> says when done.
  function printAll() {
    body.classList.add('js-single', 'print-pack');
    var views = document.querySelectorAll('.view');
    for (var i = 0; i < views.length; i++) {
      views[i].classList.add('shown');
    }
    drawIn(document);
    var wait = function () {
      if (document.querySelectorAll('[data-echart]:not([data-rendered])').length === 0) {
        body.setAttribute('data-printed', 'true');
      } else {
        setTimeout(wait, 50);
      }
    };
    wait();
  }

  function init() {
    if (body.hasAttribute('data-print')) {
      printAll();
    } else if (single) {
      body.classList.add('js-single');
      window.addEventListener('hashchange', function () { show(viewID()); });
      show(viewID());
    } else {
      drawIn(document);
    }
    window.addEventListener('resize', function () {
      drawn.forEach(function (c) {
        c.resize();
        fitLabels(c);
      });
    });
  }

  // redraw draws a chart again from new data (the filters of
  // crmwh-metrics.js), with the same formatters and styles.
  function redraw(el, data) {
    var holder = el.closest('[data-lang]') || body;
    var lang = holder.getAttribute('data-lang') === 'zh' ? 'zh' : 'en';
    var currency = holder.getAttribute('data-currency') || defaultCurrency;
    var chart = echarts.getInstanceByDom(el);
    if (chart) {
      chart.setOption(decorate(data, el, lang, currency), true);
      fitLabels(chart);
    }
  }

  window.crmwh = {
    format: format, fixed: fixed, formatInUnit: formatInUnit, lang: defaultLang, currency: defaultCurrency,
    charts: drawn, show: show, redraw: redraw
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
