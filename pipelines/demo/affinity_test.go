package demo_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/demo"
)

// affinityTruth is truth/affinities.json.
type affinityTruth struct {
	Pairs []struct {
		Kind, A, B string
		Lift       map[string]struct{ Min, Max float64 }
	}
}

// plantedLifts counts, straight from the billing files, the baskets of
// paid orders and of each person's 30-day windows (from their first paid
// order, days in Asia/Shanghai) holding each product and each planted
// pair, and returns the lift of each pair by scope.
func plantedLifts(t *testing.T, dir string, truth affinityTruth) map[string]map[string]float64 {
	t.Helper()
	d := openDataset(t, dir)
	person := map[string]string{} // billing customer number → person
	for _, rec := range readCSV(t, filepath.Join(dir, "truth", "people.csv"))[1:] {
		for _, no := range strings.Split(rec[2], ";") {
			if no != "" {
				person[no] = rec[0]
			}
		}
	}
	type order struct {
		person string
		day    int
	}
	paid := map[string]order{}
	for _, rel := range append(d.files(t, "billing/orders/*.csv"), d.files(t, "billing/legacy/orders_*.csv")...) {
		for _, r := range d.rows(t, rel, true) {
			if statusWords[r.fields[6]] != "paid" {
				continue
			}
			at, _ := parseTime(r.fields[5], isLegacy(rel))
			y, m, dd := at.In(shanghai).Date()
			day := int(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix() / 86400)
			paid[r.fields[0]] = order{person[r.fields[1]], day}
		}
	}
	products := map[string]map[string]bool{} // order → products
	for _, rel := range append(d.files(t, "billing/order_lines/*.csv"), d.files(t, "billing/legacy/order_lines_*.csv")...) {
		for _, r := range d.rows(t, rel, false) {
			if _, ok := paid[r.fields[0]]; !ok || strings.HasPrefix(r.fields[5], "-") {
				continue
			}
			if products[r.fields[0]] == nil {
				products[r.fields[0]] = map[string]bool{}
			}
			products[r.fields[0]][r.fields[2]] = true
		}
	}
	first := map[string]int{}
	for _, o := range paid {
		if f, ok := first[o.person]; !ok || o.day < f {
			first[o.person] = o.day
		}
	}
	baskets := map[string]map[string]map[string]bool{"order": {}, "customer_window": {}}
	for id, ps := range products {
		o := paid[id]
		w := fmt.Sprintf("%s/%d", o.person, (o.day-first[o.person])/30)
		baskets["order"][id] = ps
		if baskets["customer_window"][w] == nil {
			baskets["customer_window"][w] = map[string]bool{}
		}
		for p := range ps {
			baskets["customer_window"][w][p] = true
		}
	}
	out := map[string]map[string]float64{}
	for _, p := range truth.Pairs {
		out[p.Kind] = map[string]float64{}
		for scope, bs := range baskets {
			var na, nb, nab float64
			for _, b := range bs {
				if b[p.A] {
					na++
				}
				if b[p.B] {
					nb++
				}
				if b[p.A] && b[p.B] {
					nab++
				}
			}
			out[p.Kind][scope] = nab * float64(len(bs)) / (na * nb)
		}
	}
	return out
}

func TestPlantedAffinitiesAreInTheirStatedBounds(t *testing.T) {
	// Small companies, where the bounds are hardest to meet: the one the
	// end-to-end tests build (3,000 customers, a year, seed 11) and two
	// others.
	for _, c := range []struct {
		customers, years int
		seed             uint64
	}{{3000, 1, 11}, {3000, 1, 12}, {6000, 2, 3}} {
		o := demo.DefaultOptions()
		o.Customers, o.Years, o.Seed = c.customers, c.years, c.seed
		t.Run(fmt.Sprintf("%d customers, %d years, seed %d", o.Customers, o.Years, o.Seed), func(t *testing.T) {
			_, dir := generate(t, o)
			var truth affinityTruth
			readJSON(t, filepath.Join(dir, "truth", "affinities.json"), &truth)
			require.Len(t, truth.Pairs, 3)
			lifts := plantedLifts(t, dir, truth)
			for _, p := range truth.Pairs {
				require.NotEmpty(t, p.Lift, p.Kind)
				for _, scope := range []string{"order", "customer_window"} {
					got := lifts[p.Kind][scope]
					b, stated := p.Lift[scope]
					t.Logf("%s pair %s–%s, %s: lift %.3f (stated: %v %g–%g)", p.Kind, p.A, p.B, scope, got, stated, b.Min, b.Max)
					if stated {
						require.True(t, got >= b.Min && got <= b.Max, "%s pair, %s: lift %.3f outside %g–%g", p.Kind, scope, got, b.Min, b.Max)
					}
				}
			}
		})
	}
}
