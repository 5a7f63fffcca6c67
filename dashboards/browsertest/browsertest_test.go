package browsertest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/browsertest"
)

func writePage(t *testing.T, dir, name, html string) string {
	t.Helper()
	file := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(file, []byte(html), 0o644))
	return file
}

// The recorder sees what RequireClean must catch: console errors,
// exceptions, dialogs, and requests that leave the site's folder.
func TestRecordsWhatPagesDo(t *testing.T) {
	b := browsertest.Start(t)
	site := t.TempDir()
	outside := t.TempDir()
	writePage(t, outside, "outside.js", "window.outside = true;")
	writePage(t, site, "ok.js", "window.ok = true;")
	file := writePage(t, site, "bad.html", `<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>
<script src="ok.js"></script>
<script src="`+filepath.ToSlash(filepath.Join(outside, "outside.js"))+`"></script>
<script src="missing.js"></script>
<script>
console.error("something broke");
alert("hello");
setTimeout(() => { throw new Error("boom"); }, 0);
window.done = true;
</script>
<img src="http://127.0.0.1:9/pixel.png">
</body></html>`)

	p := b.Open(t, file)
	p.WaitFor(t, `window.done === true && window.ok === true`)
	p.WaitFor(t, `new Promise(r => setTimeout(() => r(true), 200))`)

	errs := strings.Join(p.Errors(), "\n")
	require.Contains(t, errs, "console.error: something broke")
	require.Contains(t, errs, "boom")
	require.Contains(t, errs, "missing.js")
	require.Equal(t, []string{"alert: hello"}, p.Dialogs())

	bad := browsertest.OutsideRequests(p.Requests(), site)
	joined := strings.Join(bad, "\n")
	require.Contains(t, joined, "outside.js")
	require.Contains(t, joined, "http://127.0.0.1:9/pixel.png")
	require.NotContains(t, joined, "ok.js")
	require.NotContains(t, joined, "bad.html")
}

func TestCleanPage(t *testing.T) {
	b := browsertest.Start(t)
	site := t.TempDir()
	file := writePage(t, site, "index.html", `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><h1>你好</h1><script>window.ready = true;</script></body></html>`)
	p := b.Open(t, file)
	p.WaitFor(t, `window.ready === true`)
	require.Equal(t, "你好", browsertest.Eval[string](t, p, `document.querySelector("h1").textContent`))
	p.RequireClean(t, site)
	png := p.Screenshot(t, "clean")
	data, err := os.ReadFile(png)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "\x89PNG"), "screenshot is not a PNG")
}

func TestFileURL(t *testing.T) {
	u, err := browsertest.FileURL("/tmp/a b/页.html")
	require.NoError(t, err)
	require.Equal(t, "file:///tmp/a%20b/%E9%A1%B5.html", u)
	require.Equal(t, []string{"file:///tmp/other/x.js", "file:///tmp/site/../x.js", "https://cdn.example/x.js"},
		browsertest.OutsideRequests([]string{
			"file:///tmp/site/index.html", "file:///tmp/other/x.js", "file:///tmp/site/../x.js",
			"https://cdn.example/x.js", "file:///tmp/site/assets/echarts.min.js", "data:image/svg+xml;base64,PHN2Zy8+",
		}, "/tmp/site"))
}

// fatalRecorder is a testing.TB that records Fatalf and stops the
// goroutine, as a real test would stop.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Without Chromium the test fails, saying how to install it; it never skips.
func TestMissingChromiumFails(t *testing.T) {
	t.Setenv("CRMWH_CHROMIUM", filepath.Join(t.TempDir(), "no-chromium"))
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		browsertest.Start(rec)
	}()
	<-done
	require.Contains(t, rec.msg, "Chromium not found at ")
	require.Contains(t, rec.msg, "run `make test`")
}

// Fonts reports the platform fonts that really drew the text: Chinese text
// in a CJK font (fonts-noto-cjk, which make test installs), Latin text in
// another.
func TestFonts(t *testing.T) {
	b := browsertest.Start(t)
	site := t.TempDir()
	file := writePage(t, site, "fonts.html", `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><h1 style="font-family: 'Noto Sans CJK SC', sans-serif">经营概览</h1><p style="font-family: monospace">abc</p></body></html>`)
	p := b.Open(t, file)
	zh := p.Fonts(t, "h1")
	require.NotEmpty(t, zh)
	require.Contains(t, zh[0].Family, "CJK", "Chinese text drawn with %v", zh)
	require.Equal(t, 4, zh[0].Glyphs)
	latin := p.Fonts(t, "p")
	require.NotEmpty(t, latin)
	require.NotContains(t, latin[0].Family, "CJK")
}
