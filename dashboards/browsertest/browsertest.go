// Package browsertest opens generated pages in real headless Chromium for
// tests, and records what the pages did: console errors, uncaught
// exceptions, network requests and dialogs (alert, confirm, prompt).
//
// It drives Debian's /usr/bin/chromium through chromedp (override the path
// with CRMWH_CHROMIUM). A missing browser fails the test, and does not skip
// it: `make test` installs Chromium, and a browser test that silently does
// not run proves nothing.
//
//	b := browsertest.Start(t)
//	p := b.Open(t, filepath.Join(site, "index.html"))
//	p.WaitFor(t, `document.querySelector("h1") !== null`)
//	p.RequireClean(t, site)
//	p.Screenshot(t, "index")
package browsertest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultChromium is where Debian's chromium package puts the browser.
const DefaultChromium = "/usr/bin/chromium"

// Timeout bounds each step of a test in the browser (loading, waiting,
// evaluating, a screenshot).
const Timeout = 30 * time.Second

// Chromium returns the browser's path: $CRMWH_CHROMIUM or DefaultChromium.
func Chromium() string {
	if p := os.Getenv("CRMWH_CHROMIUM"); p != "" {
		return p
	}
	return DefaultChromium
}

// Browser is a headless Chromium started for one test, with a fresh
// profile, and stopped when the test ends.
type Browser struct {
	ctx context.Context
}

// Start starts the browser. It fails the test when Chromium is not
// installed, saying how to install it.
func Start(t testing.TB) *Browser {
	t.Helper()
	exe := Chromium()
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("Chromium not found at %s (%v): run `make test`, which installs it "+
			"(apt-get install -y chromium fonts-noto-cjk), or set CRMWH_CHROMIUM", exe, err)
	}
	profile := t.TempDir()
	// Chromium makes its singleton socket's directory in $TMPDIR and leaves
	// it behind; a short directory of the test's own keeps it from /tmp
	// (the socket's path must stay under 108 bytes, which t.TempDir's long
	// names can exceed).
	tmp, err := os.MkdirTemp("", "crmwh-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR=" + tmp),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not have a timeout, which
	// would stop the browser when it ends.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting Chromium %s: %v", exe, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &Browser{ctx: ctx}
}

// Page is a tab that loaded a file, and the record of what it did.
type Page struct {
	// URL is the file:// URL the tab opened.
	URL string
	ctx context.Context

	mu       sync.Mutex
	errs     []string
	requests []string
	dialogs  []string
}

// FileURL returns the file:// URL of a local path.
func FileURL(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Open opens a local file in a new tab and waits for its load event. What
// the page does is recorded from before the navigation; any dialog is
// recorded and then dismissed so that the page goes on.
func (b *Browser) Open(t testing.TB, file string) *Page {
	t.Helper()
	return b.OpenFragment(t, file, "")
}

// OpenFragment opens a local file at a fragment of its address
// (value.html#?rfm_segment=champions), as Open does.
func (b *Browser) OpenFragment(t testing.TB, file, fragment string) *Page {
	t.Helper()
	u, err := FileURL(file)
	if err != nil {
		t.Fatalf("opening %s: %v", file, err)
	}
	if fragment != "" {
		u += "#" + fragment
	}
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	p := &Page{URL: u, ctx: ctx}
	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatalf("opening %s: %v", file, err)
	}
	sctx, scancel := context.WithTimeout(ctx, Timeout)
	defer scancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("opening %s: %v", u, err)
	}
	return p
}

// record runs on the tab's event loop: it must be quick and must not send
// commands itself (see chromedp.Listen).
func (p *Page) record(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, remoteText(a))
			}
			p.errs = append(p.errs, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		p.errs = append(p.errs, fmt.Sprintf("uncaught exception at %s:%d:%d: %s", d.URL, d.LineNumber+1, d.ColumnNumber+1, msg))
	case *log.EventEntryAdded:
		if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError {
			p.errs = append(p.errs, fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		if ev.Request != nil {
			p.requests = append(p.requests, ev.Request.URL)
		}
	case *page.EventJavascriptDialogOpening:
		p.dialogs = append(p.dialogs, fmt.Sprintf("%s: %s", ev.Type, ev.Message))
		go chromedp.Call(p.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
	}
}

func remoteText(o *runtime.RemoteObject) string {
	switch {
	case o == nil:
		return ""
	case o.Description != "":
		return o.Description
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	default:
		return strings.Trim(string(o.Value), `"`)
	}
}

// Errors returns the console errors, uncaught exceptions and browser error
// logs (such as a file that failed to load) seen so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// Requests returns the URL of every request the page made so far,
// including the page itself.
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Dialogs returns the dialogs (alert, confirm, prompt) the page opened.
func (p *Page) Dialogs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dialogs...)
}

// RequireClean fails the test if the page logged an error, threw an
// exception, opened a dialog, or requested anything but files inside dir
// (the site's folder) through file:// URLs, and data: URLs.
func (p *Page) RequireClean(t testing.TB, dir string) {
	t.Helper()
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("%s: page errors:\n  %s", p.URL, strings.Join(errs, "\n  "))
	}
	if ds := p.Dialogs(); len(ds) > 0 {
		t.Errorf("%s: page opened dialogs: %q", p.URL, ds)
	}
	if bad := OutsideRequests(p.Requests(), dir); len(bad) > 0 {
		t.Errorf("%s: requests outside %s:\n  %s", p.URL, dir, strings.Join(bad, "\n  "))
	}
}

// OutsideRequests returns the URLs that are not file:// URLs of files
// inside dir, nor data: URLs (which carry their content in themselves, as
// a single-file site's icon does).
func OutsideRequests(urls []string, dir string) []string {
	base, err := FileURL(dir)
	if err != nil {
		return urls
	}
	base = strings.TrimSuffix(base, "/") + "/"
	var bad []string
	for _, u := range urls {
		if strings.HasPrefix(u, "data:") {
			continue
		}
		if !strings.HasPrefix(u, base) || strings.Contains(u, "/../") {
			bad = append(bad, u)
		}
	}
	return bad
}

// Eval evaluates a JavaScript expression in the page and decodes its
// value into T (as chromedp.Evaluate does).
func Eval[T any](t testing.TB, p *Page, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: evaluating %s: %v", p.URL, expr, err)
	}
	return v
}

// WaitFor waits until the JavaScript expression is truthy, or fails the
// test after Timeout.
func (p *Page) WaitFor(t testing.TB, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(Timeout))); err != nil {
		t.Fatalf("%s: waiting for %s: %v (page errors: %q)", p.URL, expr, err, p.Errors())
	}
}

// Screenshot saves a PNG of the whole page as <name>.png in OutDir(t) and
// returns its path.
func (p *Page) Screenshot(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", p.URL, err)
	}
	file := filepath.Join(OutDir(t), name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatalf("saving screenshot: %v", err)
	}
	return file
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// OutDir is the folder for a test's artefacts such as screenshots:
// $CRMWH_TEST_OUT/<test name> when CRMWH_TEST_OUT is set (kept after the
// test), else a temporary folder removed after the test.
func OutDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("CRMWH_TEST_OUT")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, unsafeName.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating test output folder: %v", err)
	}
	return dir
}

// ChartCanvas is what a page says about one of its ECharts charts.
type ChartCanvas struct {
	ID      string `json:"id"`
	Canvas  bool   `json:"canvas"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Painted int    `json:"painted"`
}

// canvasJS counts each chart's non-transparent canvas pixels.
const chartsJS = `Array.from(document.querySelectorAll('[data-echart]')).map(el => {
  const c = el.querySelector('canvas');
  if (!c) return {id: el.id, canvas: false, width: 0, height: 0, painted: 0};
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
  return {id: el.id, canvas: true, width: c.width, height: c.height, painted: n};
})`

// Charts waits until every ECharts chart of the page has rendered and
// returns, for each, whether it has a canvas, its size and how many of its
// pixels are painted (a blank chart has none).
func (p *Page) Charts(t testing.TB) []ChartCanvas {
	t.Helper()
	p.WaitFor(t, `document.querySelectorAll('[data-echart]:not([data-rendered])').length === 0`)
	return Eval[[]ChartCanvas](t, p, chartsJS)
}

// Font is a font the browser drew some of an element's text with.
type Font struct {
	// Family is the platform font's family name, such as "Noto Sans CJK SC".
	Family string
	// Glyphs is how many glyphs of the text it drew.
	Glyphs int
}

// Fonts returns the platform fonts that drew the text directly inside the
// first element matching the CSS selector, as Chromium reports them
// (CSS.getPlatformFontsForNode): what a reader's eyes see, after every
// fallback, unlike the font-family the style sheet asks for.
func (p *Page) Fonts(t testing.TB, selector string) []Font {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	fail := func(what string, err error) {
		t.Helper()
		t.Fatalf("%s: fonts of %s: %s: %v", p.URL, selector, what, err)
	}
	if _, err := chromedp.Call(ctx, dom.Enable, dom.EnableParams{}); err != nil {
		fail("enabling DOM", err)
	}
	if _, err := chromedp.Call(ctx, css.Enable, cdp.Empty{}); err != nil {
		fail("enabling CSS", err)
	}
	doc, err := chromedp.Call(ctx, dom.GetDocument, dom.GetDocumentParams{})
	if err != nil {
		fail("reading the document", err)
	}
	q, err := chromedp.Call(ctx, dom.QuerySelector, dom.QuerySelectorParams{NodeID: doc.Root.NodeID, Selector: selector})
	if err != nil || q.NodeID == 0 {
		fail("finding the element", err)
	}
	res, err := chromedp.Call(ctx, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: q.NodeID})
	if err != nil {
		fail("reading the fonts", err)
	}
	var out []Font
	for _, f := range res.Fonts {
		out = append(out, Font{Family: f.FamilyName, Glyphs: int(f.GlyphCount)})
	}
	return out
}
