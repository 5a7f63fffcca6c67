// Package pdf writes the board pack: chosen dashboard pages, in one
// language, as one PDF file, printed by headless Chromium (`crmwh
// dashboards --pdf`). The pages are rendered as a print document (a
// single HTML file with every chosen page one after the other, see
// render.Options.Print) into a temporary folder, opened from file:// in a
// Chromium started for the purpose with a new empty profile, and printed
// once every chart is drawn: A4 landscape, backgrounds on, each page of the
// dashboards from a new sheet, a footer with the data's date and the page
// number, and the pages' headings as the PDF's outline (bookmarks).
package pdf

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
)

// DefaultChromium is where Debian's chromium package puts the browser;
// $CRMWH_CHROMIUM overrides it.
const DefaultChromium = "/usr/bin/chromium"

// Timeout bounds starting the browser, drawing the pages and printing.
const Timeout = 2 * time.Minute

// printWidth is A4 landscape less 10 mm margins, in CSS pixels: the
// pages are laid out and their charts drawn at the width they print at.
const printWidth, printHeight = 1047, 720

// Options say which pages go into the pack and where it is written.
type Options struct {
	// Render are the site's render options: the language (Lang), the pages
	// (Pages; empty is every page but the data-health page), the data's
	// time, currency and what the project does not map. OutDir and
	// SingleFile are set by Write.
	Render render.Options
	// File is the PDF to write.
	File string
	// Chromium is the browser's path (default $CRMWH_CHROMIUM, else
	// DefaultChromium).
	Chromium string
}

// Result says what Write wrote.
type Result struct {
	File string
	// Pages are the dashboard pages in the pack, in order.
	Pages []string
	// Bytes is the PDF's size.
	Bytes int
}

// Write renders the pages as a print document and prints it to o.File.
// A chart that fails is printed with its failure, as on the site, and the
// error says so; a missing browser or a failed print is an error and
// writes no file.
func Write(ctx context.Context, db *sql.DB, pages []spec.Page, o Options) (Result, error) {
	if o.File == "" {
		return Result{}, errors.New("board pack: no file to write (Options.File)")
	}
	exe := o.Chromium
	if exe == "" {
		exe = os.Getenv("CRMWH_CHROMIUM")
	}
	if exe == "" {
		exe = DefaultChromium
	}
	if _, err := os.Stat(exe); err != nil {
		return Result{}, fmt.Errorf("board pack: Chromium not found at %s (install the chromium package, or set CRMWH_CHROMIUM): %w", exe, err)
	}
	tmp, err := os.MkdirTemp("", "crmwh-pdf-")
	if err != nil {
		return Result{}, fmt.Errorf("board pack: %w", err)
	}
	defer os.RemoveAll(tmp)

	ro := o.Render
	ro.OutDir, ro.SingleFile, ro.Print, ro.NoAnimation = filepath.Join(tmp, "site"), true, true, true
	if len(ro.Pages) == 0 {
		for _, p := range pages {
			if p.Name != render.HealthPage {
				ro.Pages = append(ro.Pages, p.Name)
			}
		}
	}
	res, renderErr := render.Render(ctx, db, pages, ro)
	if len(res.Files) == 0 {
		return Result{}, fmt.Errorf("board pack: %w", renderErr)
	}
	out := Result{File: o.File}
	for _, p := range res.Pages {
		out.Pages = append(out.Pages, p.Name)
	}
	doc := filepath.Join(ro.OutDir, res.Index)
	pdf, err := printPDF(ctx, exe, tmp, doc, footer(ro))
	if err != nil {
		return Result{}, fmt.Errorf("board pack: printing %d pages with %s: %w", len(out.Pages), exe, err)
	}
	if err := writeFile(o.File, pdf); err != nil {
		return Result{}, fmt.Errorf("board pack: %w", err)
	}
	out.Bytes = len(pdf)
	if renderErr != nil {
		return out, fmt.Errorf("board pack %s written, but: %w", o.File, renderErr)
	}
	return out, nil
}

// printPDF opens the document in a new headless Chromium and prints it.
// The browser's profile and its temporary files (Chromium makes its
// singleton socket's directory in $TMPDIR) go under tmp, which the caller
// removes.
func printPDF(ctx context.Context, exe, tmp, doc, footerHTML string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(filepath.Join(tmp, "profile")),
		chromedp.Env("TMPDIR=" + tmp),
		chromedp.WindowSize(printWidth, printHeight),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(doc)}).String()
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(printWidth, printHeight),
		chromedp.Navigate(u),
	); err != nil {
		return nil, err
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](`document.body.hasAttribute('data-printed')`)); err != nil {
		return nil, fmt.Errorf("waiting for the charts to be drawn: %w", err)
	}
	yes := true
	margin := 0.4
	res, err := chromedp.Call(bctx, page.PrintToPDF, page.PrintToPDFParams{
		Landscape: &yes, PrintBackground: &yes, PreferCSSPageSize: &yes, GenerateDocumentOutline: &yes,
		DisplayHeaderFooter: &yes, HeaderTemplate: "<span></span>", FooterTemplate: footerHTML,
		MarginTop: &margin, MarginBottom: &margin, MarginLeft: &margin, MarginRight: &margin,
		PaperWidth: 11.69, PaperHeight: 8.27,
	})
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

// footer is the footer of every sheet: the data's dates and the page
// number, in the pack's language.
func footer(o render.Options) string {
	refreshed := "Refreshed"
	page := `Page <span class="pageNumber"></span> of <span class="totalPages"></span>`
	if o.Lang == "zh" {
		refreshed = "刷新于"
		page = `第 <span class="pageNumber"></span> 页，共 <span class="totalPages"></span> 页`
	}
	return `<div style="font-size:8px;width:100%;margin:0 10mm;display:flex;justify-content:space-between;color:#5b6775;font-family:sans-serif">` +
		`<span>crmwh · ` + refreshed + ` ` + o.DataAsOf.Format("2006-01-02 15:04 UTC-07:00") + `</span><span>` + page + `</span></div>`
}

// writeFile writes data atomically: a temporary file renamed into place.
func writeFile(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}
