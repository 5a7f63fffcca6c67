// Package exporttest makes test fixtures shaped like other people's
// exports (not the demo company's): what a shop's or a retailer's system
// writes out, with its cancellations, missing ids and spreadsheet habits.
package exporttest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

// InvoiceLine is a row of a retail export: one product on an invoice.
type InvoiceLine struct {
	Invoice, Stock    string
	Quantity          int64
	At                time.Time // the export's wall clock (London), as UTC
	PriceCents        int64
	Customer, Country string // Customer is "" when the export has none
}

// Cancelled reports whether the line is on a cancellation ('C') invoice.
func (l InvoiceLine) Cancelled() bool { return strings.HasPrefix(l.Invoice, "C") }

// Day is the line's day on the export's wall clock.
func (l InvoiceLine) Day() string { return l.At.Format(time.DateOnly) }

// InvoiceExport generates an invoice-line export like public retail data
// sets: 700 customers with their own purchase rates and basket sizes over
// a year from December 2010, invoice numbers, some invoices cancelled
// later by a 'C' invoice with negative quantities, and rows without a
// customer id. Lines are in time order.
func InvoiceExport(seed uint64) []InvoiceLine {
	r := rand.New(rand.NewPCG(seed, 7))
	rate := distuv.Gamma{Alpha: 0.9, Beta: 0.06, Src: r}  // purchases a year
	basket := distuv.Gamma{Alpha: 3, Beta: 1, Src: r}     // basket size scale
	start := time.Date(2010, 12, 1, 8, 0, 0, 0, time.UTC) // read as London time
	end := start.AddDate(1, 0, 8)
	prices := []int64{255, 339, 85, 765, 425, 169, 1275, 295}
	stocks := []string{"85123A", "71053", "84406B", "22752", "21730", "84029G", "22633"}
	type visit struct {
		at       time.Time
		customer string
		scale    float64
	}
	var visits []visit
	for c := 0; c < 700; c++ {
		customer := fmt.Sprint(12346 + 7*c)
		lam, scale := max(rate.Rand(), 0.3), basket.Rand()
		leave := r.Float64() * 0.4
		t := start.Add(time.Duration(r.Float64() * 120 * 24 * float64(time.Hour)))
		for t.Before(end) {
			visits = append(visits, visit{t.Truncate(time.Minute), customer, scale})
			if r.Float64() < leave {
				break
			}
			t = t.Add(time.Duration(r.ExpFloat64() / lam * 365 * 24 * float64(time.Hour)))
		}
	}
	sort.Slice(visits, func(i, j int) bool { return visits[i].at.Before(visits[j].at) })
	var out []InvoiceLine
	invoice := 536365
	for _, v := range visits {
		invoice++
		customer := v.customer
		if r.Float64() < 0.1 {
			customer = "" // no customer id on the export
		}
		var lines []InvoiceLine
		for n := 1 + r.IntN(4); n > 0; n-- {
			q := max(1, int64(v.scale*float64(1+r.IntN(8))))
			lines = append(lines, InvoiceLine{fmt.Sprint(invoice), stocks[r.IntN(len(stocks))], q, v.at, prices[r.IntN(len(prices))], customer, "United Kingdom"})
		}
		out = append(out, lines...)
		if r.Float64() < 0.08 {
			invoice++
			back := lines[0]
			back.Invoice = fmt.Sprintf("C%d", invoice)
			back.Quantity = -1 - r.Int64N(back.Quantity)
			back.At = v.at.Add(time.Duration(1+r.IntN(48)) * time.Hour)
			out = append(out, back)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// WriteInvoices writes lines as the retailer's CSV export does: a header,
// US-style dates without seconds, prices without trailing zeros, customer
// ids written as floats (17850.0), as a spreadsheet would, and a quoted
// description with a comma in it.
func WriteInvoices(t testing.TB, path string, lines []InvoiceLine) {
	t.Helper()
	var b strings.Builder
	b.WriteString("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
	for _, l := range lines {
		cust := ""
		if l.Customer != "" {
			cust = l.Customer + ".0"
		}
		price := fmt.Sprintf("%d.%02d", l.PriceCents/100, l.PriceCents%100)
		fmt.Fprintf(&b, "%s,%s,\"WHITE HANGING HEART T-LIGHT HOLDER, RED\",%d,%d/%d/%d %d:%02d,%s,%s,%s\n", l.Invoice, l.Stock, l.Quantity,
			int(l.At.Month()), l.At.Day(), l.At.Year(), l.At.Hour(), l.At.Minute(), strings.TrimSuffix(strings.TrimSuffix(price, "0"), ".0"), cust, l.Country)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
}
