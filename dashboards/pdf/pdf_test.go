package pdf_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/pdf"
	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
	"crmwh/warehouse/duckdb"
)

// outline returns the titles of a PDF's outline (bookmarks) and its
// number of pages, read from the file itself: Chromium writes the outline
// titles as PDF strings, literal or UTF-16 hex.
func outline(t *testing.T, data []byte) (titles []string, pages int) {
	t.Helper()
	require.True(t, bytes.HasPrefix(data, []byte("%PDF-")), "not a PDF")
	pages = len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(data, -1))
	for _, m := range regexp.MustCompile(`/Title\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)`).FindAllSubmatch(data, -1) {
		s := string(m[1])
		if strings.HasPrefix(s, "<") {
			b, err := hex.DecodeString(strings.Join(strings.Fields(s[1:len(s)-1]), ""))
			require.NoError(t, err)
			if len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF {
				u := make([]uint16, 0, len(b)/2)
				for i := 2; i+1 < len(b); i += 2 {
					u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
				}
				s = string(utf16.Decode(u))
			} else {
				s = string(b)
			}
		} else {
			s = strings.NewReplacer(`\(`, "(", `\)`, ")", `\\`, `\`).Replace(s[1 : len(s)-1])
		}
		titles = append(titles, s)
	}
	return titles, pages
}

// The board pack holds the pages asked for, in order, in the language asked
// for, each from a new sheet, with their headings as bookmarks.
func TestBoardPack(t *testing.T) {
	db, err := duckdb.Open(filepath.Join(t.TempDir(), "w.duckdb"), duckdb.Options{Threads: 1})
	require.NoError(t, err)
	defer db.Close()
	script, err := os.ReadFile("../render/testdata/warehouse.sql")
	require.NoError(t, err)
	_, err = db.Exec(string(script))
	require.NoError(t, err)
	pages, err := spec.Load(os.DirFS(".."), ".")
	require.NoError(t, err)
	asOf := time.Date(2024, 7, 1, 6, 0, 0, 0, time.FixedZone("CST", 8*3600))
	dir := t.TempDir()

	for _, tc := range []struct {
		lang   string
		pages  []string
		titles []string
	}{
		{"en", []string{"overview", "account_managers", "appendix"}, []string{"Executive overview", "Account managers", "Analyst appendix"}},
		{"zh", []string{"value", "service"}, []string{"客户价值", "客户服务"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			file := filepath.Join(dir, "pack-"+tc.lang+".pdf")
			res, err := pdf.Write(context.Background(), db, pages, pdf.Options{File: file,
				Render: render.Options{Lang: tc.lang, Pages: tc.pages, DataAsOf: asOf}})
			require.NoError(t, err)
			require.Equal(t, tc.pages, res.Pages)
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			require.Equal(t, len(data), res.Bytes)
			titles, n := outline(t, data)
			// Each dashboard page starts a sheet: at least one sheet each.
			require.GreaterOrEqual(t, n, len(tc.pages))
			for _, want := range tc.titles {
				require.Contains(t, titles, want, "the outline")
			}
			// Nothing of the other pages or the other language.
			for _, other := range []string{"Data health", "数据健康", "Customer value", "经营概览", "Executive overview"} {
				if !strings.Contains(strings.Join(tc.titles, "|"), other) {
					require.NotContains(t, titles, other)
				}
			}
			require.Contains(t, titles, map[string]string{"en": "Board pack · crmwh", "zh": "董事会报告 · crmwh"}[tc.lang])
			t.Logf("%s: %d sheets, %d bytes, outline %q", file, n, len(data), titles)
		})
	}

	// Every page but data health by default.
	res, err := pdf.Write(context.Background(), db, pages, pdf.Options{File: filepath.Join(dir, "all.pdf"), Render: render.Options{DataAsOf: asOf}})
	require.NoError(t, err)
	require.Equal(t, []string{"overview", "value", "retention", "segments", "cross_sell", "watchlist", "account_managers", "service", "appendix"}, res.Pages)

	_, err = pdf.Write(context.Background(), db, pages, pdf.Options{File: filepath.Join(dir, "x.pdf"), Chromium: "/nonexistent/chromium", Render: render.Options{DataAsOf: asOf}})
	require.ErrorContains(t, err, "board pack: Chromium not found at /nonexistent/chromium")
	require.NoFileExists(t, filepath.Join(dir, "x.pdf"))
}
