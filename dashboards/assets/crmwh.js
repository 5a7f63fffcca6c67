/*
 * crmwh dashboards: draws the ECharts charts of a page rendered by crmwh.
 *
 * Each chart is a <div data-echart id="chart-<page>-<chart>"> followed by a
 * <script type="application/json" id="chart-<page>-<chart>-data"> holding
 * {kind, format: {y}, option}. The option was built by go-echarts; this
 * script adds what JSON cannot carry: number formatters for the value axis
 * and the tooltip, and ECharts' own locale. It reads no other file and
 * makes no network request, so pages work from file://.
 *
 * crmwh.format mirrors Formatter.Number and Formatter.Compact of the Go
 * package crmwh/dashboards/render exactly; a browser test checks both agree.
 */
(function () {
  'use strict';

  var SYMBOLS = { CNY: '¥', USD: '$', EUR: '€', GBP: '£', JPY: 'JP¥', HKD: 'HK$' };
  var MISSING = '-';

  var body = document.body;
  var lang = body.getAttribute('data-lang') === 'zh' ? 'zh' : 'en';
  var currency = body.getAttribute('data-currency') || 'CNY';

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

  function units() {
    // [from, size, suffix]: from `from` up, divided by size.
    return lang === 'zh'
      ? [[1e8, 1e8, '亿'], [1e4, 1e4, '万']]
      : [[1e9, 1e9, 'B'], [1e6, 1e6, 'M'], [1e4, 1e3, 'K']];
  }

  // format writes v like the Go Formatter: compact for axes and KPI
  // cards, in full for tooltips and tables.
  function format(v, fmt, compact) {
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
      var us = units();
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

  function draw(el) {
    var dataEl = document.getElementById(el.id + '-data');
    var data = JSON.parse(dataEl.textContent);
    var option = data.option;
    var yf = (data.format && data.format.y) || 'number';
    (option.yAxis || []).forEach(function (axis) {
      axis.axisLabel = axis.axisLabel || {};
      axis.axisLabel.formatter = function (v) { return format(v, yf, true); };
    });
    option.tooltip = option.tooltip || {};
    option.tooltip.valueFormatter = function (v) { return format(v, yf, false); };
    var chart = echarts.init(el, null, { locale: lang === 'zh' ? 'ZH' : 'EN', renderer: 'canvas' });
    chart.on('finished', function () { el.setAttribute('data-rendered', 'true'); });
    chart.setOption(option);
    return chart;
  }

  function init() {
    var els = document.querySelectorAll('[data-echart]');
    if (!els.length) {
      return;
    }
    if (typeof echarts === 'undefined') {
      for (var i = 0; i < els.length; i++) {
        els[i].textContent = 'assets/echarts.min.js did not load.';
      }
      return;
    }
    var drawn = [];
    for (var j = 0; j < els.length; j++) {
      drawn.push(draw(els[j]));
    }
    window.addEventListener('resize', function () {
      drawn.forEach(function (c) { c.resize(); });
    });
    window.crmwh.charts = drawn;
  }

  window.crmwh = { format: format, lang: lang, currency: currency, charts: [] };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
