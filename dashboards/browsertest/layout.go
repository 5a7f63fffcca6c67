package browsertest

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// Resize gives the page a viewport of width × height CSS pixels (as a
// window of that size would) and waits until every chart has been drawn
// again at its new size.
func (p *Page) Resize(t testing.TB, width, height int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("%s: resizing to %dx%d: %v", p.URL, width, height, err)
	}
	// Charts redraw on the window's resize event; wait for them to finish.
	Eval[bool](t, p, `(window.dispatchEvent(new Event('resize')), true)`)
	p.WaitFor(t, `Array.from(document.querySelectorAll('[data-echart][data-drawn]')).every(el => { const c = echarts.getInstanceByDom(el); return c && c.getWidth() === el.clientWidth; })`)
}

// Layout problems the page shows at its current size.
type Layout struct {
	// Overflow lists elements wider than their card (or sticking out of
	// it), and tables that scroll sideways inside it.
	Overflow []string `json:"overflow"`
	// Clipped lists chart texts (axis names and labels, legends, labels)
	// drawn partly outside their chart.
	Clipped []string `json:"clipped"`
	// Overlaps lists pairs of chart texts drawn over each other.
	Overlaps []string `json:"overlaps"`
	// Hidden lists category axes that left some of their names out
	// (other than month axes, where every other month may go).
	Hidden []string `json:"hidden"`
}

// layoutJS measures the page: cards against their contents, and every text
// ECharts drew (zrender's display list, in the chart's own pixels).
const layoutJS = `(() => {
  const out = {overflow: [], clipped: [], overlaps: [], hidden: []};
  const visible = el => !el.closest('[hidden]') && el.getClientRects().length > 0;
  document.querySelectorAll('figure.card').forEach(card => {
    if (!visible(card)) return;
    const cr = card.getBoundingClientRect();
    const wrap = card.querySelector('.table-wrap');
    if (wrap && wrap.scrollWidth > wrap.clientWidth + 1) out.overflow.push(card.id + ': table ' + wrap.scrollWidth + 'px in ' + wrap.clientWidth + 'px');
    for (const el of card.querySelectorAll('*')) {
      if (!visible(el) || el.closest('.echart')) continue;
      const r = el.getBoundingClientRect();
      if (r.right > cr.right + 1 || r.left < cr.left - 1) {
        out.overflow.push(card.id + ': ' + el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined ? '.' + el.className : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right) + ' in ' + Math.round(cr.left) + '..' + Math.round(cr.right));
        break;
      }
    }
  });
  for (const chart of (window.crmwh ? crmwh.charts : [])) {
    const el = chart.getDom();
    if (!visible(el)) continue;
    const w = chart.getWidth(), h = chart.getHeight();
    // Texts are drawn as tspans, one per line, children of a Text: a
    // wrapped name is one text, its box the union of its lines'.
    const byText = new Map();
    chart.getZr().storage.getDisplayList(true).forEach(d => {
      if ((d.type !== 'tspan' && d.type !== 'text') || d.invisible || d.ignore || !d.style || !d.style.text) return;
      if (d.style.opacity === 0 || (d.parent && (d.parent.ignore || d.parent.invisible))) return;
      // A scrolling legend clips the items beyond its pager: not drawn.
      if (d.__clipPaths && d.__clipPaths.length) return;
      const r = d.getBoundingRect().clone();
      if (d.transform) r.applyTransform(d.transform);
      if (r.width < 1 || r.height < 1) return;
      const key = d.parent && d.parent.type === 'text' ? d.parent : d;
      const t = byText.get(key);
      if (t) {
        t.text += String(d.style.text);
        t.r.union(r);
      } else {
        byText.set(key, {text: String(d.style.text), r: r});
      }
    });
    const texts = Array.from(byText.values());
    texts.forEach(t => {
      if (t.r.x < -1 || t.r.y < -1 || t.r.x + t.r.width > w + 1 || t.r.y + t.r.height > h + 1) {
        out.clipped.push(el.id + ': "' + t.text + '" at ' + Math.round(t.r.x) + ',' + Math.round(t.r.y) + ' ' + Math.round(t.r.width) + 'x' + Math.round(t.r.height) + ' in ' + w + 'x' + h);
      }
    });
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i].r, b = texts[j].r;
        const ox = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
        const oy = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
        if (ox > 2 && oy > 2) out.overlaps.push(el.id + ': "' + texts[i].text + '" and "' + texts[j].text + '"');
      }
    }
    // The legend (with its pager) keeps clear of the toolbox's icons. A
    // scrolling legend clips its items (ECharts' scroll legend view keeps
    // them in _containerGroup, its pager in _controllerGroup): what shows
    // is the clip and the pager.
    const rectOf = g => {
      if (!g || g.ignore) return null;
      let r = g.getBoundingRect().clone();
      const cp = g.getClipPath && g.getClipPath();
      if (cp && cp.shape) r = new echarts.graphic.BoundingRect(cp.shape.x, cp.shape.y, cp.shape.width, cp.shape.height);
      g.updateTransform && g.updateTransform();
      if (g.transform) r.applyTransform(g.transform);
      return r.width > 0 && r.height > 0 ? r : null;
    };
    const viewOf = type => {
      const m = chart.getModel().getComponent(type);
      return m && chart.getViewOfComponentModel(m);
    };
    const tbView = viewOf('toolbox'), lgView = viewOf('legend');
    const tb = tbView && rectOf(tbView.group);
    const shown = lgView ? (lgView._containerGroup ? [lgView._containerGroup, lgView._controllerGroup] : [lgView.group]) : [];
    shown.map(rectOf).forEach(r => {
      if (r && tb && r.intersect(tb)) {
        out.overlaps.push(el.id + ': the legend runs into the toolbox (' + [r.x, r.y, r.width, r.height, tb.x, tb.y, tb.width, tb.height].map(Math.round).join(',') + ')');
      }
    });
    const opt = chart.getOption();
    ['xAxis', 'yAxis'].forEach(key => (opt[key] || []).forEach((axis, ai) => {
      if (axis.type !== 'category' || !axis.data || axis.data.length === 0) return;
      const names = axis.data.map(d => String(d && d.value !== undefined ? d.value : d));
      // Months and numbers in a row may be thinned out; names may not.
      if (names.some(n => /^(\w{3} \d{4}|\d{4}年\d{1,2}月)$/.test(n)) || names.every(n => /^-?\d+$/.test(n))) return;
      // A name cut short with an ellipsis is shown (its tooltip has it all).
      const shows = (t, n) => t.text === n || (t.text.endsWith('...') && n.startsWith(t.text.slice(0, -3)));
      const shown = names.filter(n => texts.some(t => shows(t, n))).length;
      if (shown < axis.data.length) out.hidden.push(el.id + ': ' + key + ' shows ' + shown + ' of ' + axis.data.length + ' names');
    }));
  }
  return out;
})()`

// Layout measures the page at its current size.
func (p *Page) Layout(t testing.TB) Layout {
	t.Helper()
	return Eval[Layout](t, p, layoutJS)
}
