package render

import (
	"net/url"
	"slices"

	"crmwh/dashboards/spec"
)

// Links from a value to another page (spec.Link): a table cell or a chart
// item leads to the page, whose tables with the filtered column then show
// only the rows with that value. The filter travels in the address's
// fragment after a '?', as column=value, so it works from file:// and in a
// single file: watchlist.html#?account_manager_id=AM001, or
// #en-watchlist?account_manager_id=AM001.

// renderedPages are the pages the site renders (Options.Pages).
func renderedPages(s *site) []spec.Page {
	var out []spec.Page
	for _, pd := range s.pages {
		if pd.render {
			out = append(out, pd.page)
		}
	}
	return out
}

// linkHref is the address of a link's page filtered to a value, from a
// page of the language.
func (s *site) linkHref(lang string, l spec.Link, value string) string {
	if !slices.ContainsFunc(s.pages, func(pd pageData) bool { return pd.page.Name == l.Page }) {
		return "" // the page is not in this site (left out for want of data)
	}
	k := linker{s, lang}
	base := k.href(lang, l.Page)
	sep := "#?"
	if s.opts.SingleFile {
		sep = "?"
	}
	return base + sep + url.QueryEscape(l.Filter) + "=" + url.QueryEscape(value)
}

// link is where a chart's items lead, for its payload: the page and the
// filtered column; the chart builder adds each item's value.
func (s *site) link(pd *pageData, c spec.Chart, lang string) *payloadLink {
	if c.Link == nil || s.linkHref(lang, *c.Link, "") == "" {
		return nil
	}
	return &payloadLink{Href: s.linkHref(lang, *c.Link, ""), Filter: c.Link.Filter, Values: map[string]string{}}
}

// hrefs returns the function a table uses to link its cells.
func (s *site) hrefs(lang string) func(spec.Link, string) string {
	return func(l spec.Link, v string) string { return s.linkHref(lang, l, v) }
}
