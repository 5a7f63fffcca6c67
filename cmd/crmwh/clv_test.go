package main_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
)

// TestCLVFitOnASimulatedLog runs `crmwh clv fit` on a transaction log
// simulated from known parameters, with a holdout period: the customer
// count, the holdout purchases and the parameters are checked against the
// simulation's truth.
func TestCLVFitOnASimulatedLog(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log.csv")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	truth := clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2}
	calEnd := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	cs, err := clvsim.WriteLog(f, clvsim.Options{
		Customers: 20_000, BGNBD: truth, GammaGamma: clv.GammaGamma{P: 6, Q: 4, Gamma: 150},
		MaxT: 730, Holdout: 91, Seed: 4,
	}, calEnd)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	var holdout float64
	for _, c := range cs {
		holdout += c.HoldoutX
	}

	out := mustRun(t, dir, "clv", "fit", "log.csv", "--calibration-end", "2025-06-30", "--holdout-end", "2025-09-29", "--json", "--scores", "scores.csv")
	var res struct {
		Customers      int
		CalibrationEnd string `json:"calibration_end"`
		HoldoutEnd     string `json:"holdout_end"`
		BGNBD          clv.BGNBDFit
		GammaGamma     clv.GammaGammaFit `json:"gamma_gamma"`
		Validation     clv.Validation
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, 20_000, res.Customers)
	require.Equal(t, "2025-06-30", res.CalibrationEnd)
	require.True(t, res.BGNBD.Converged)
	for _, c := range []struct {
		e     clv.Estimate
		truth float64
	}{{res.BGNBD.R, truth.R}, {res.BGNBD.Alpha, truth.Alpha}, {res.BGNBD.A, truth.A}, {res.BGNBD.B, truth.B}} {
		require.InDelta(t, c.truth, c.e.Value, 4*c.e.SE+0.07*c.truth, "%+v", c.e) // 4 SE plus the day-grid bias
	}
	require.True(t, res.GammaGamma.Converged)
	require.InDelta(t, 6, res.GammaGamma.P.Value, 4*res.GammaGamma.P.SE)
	require.Equal(t, holdout, res.Validation.Actual, "holdout purchase days")
	require.Equal(t, 91.0, res.Validation.HoldoutLength)
	require.InEpsilon(t, res.Validation.Actual, res.Validation.Predicted, 0.1)
	require.Len(t, res.Validation.ByFrequency, 8)
	last := res.Validation.Tracking[len(res.Validation.Tracking)-1]
	require.Equal(t, 91.0, last.Time)

	// The scores file: one row per customer.
	sf, err := os.Open(filepath.Join(dir, "scores.csv"))
	require.NoError(t, err)
	defer sf.Close()
	rows, err := csv.NewReader(sf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"customer_id", "x", "t_x", "T", "monetary", "p_alive", "expected_90d", "expected_365d", "expected_spend", "clv"}, rows[0])
	require.Len(t, rows, 20_001)
	var sumExp float64
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[6], 64)
		require.NoError(t, err)
		sumExp += v
	}
	require.InEpsilon(t, res.Validation.Predicted*90/91, sumExp, 0.01, "expected purchases in 90 days against the holdout's 91")

	// The table.
	text := mustRun(t, dir, "clv", "fit", "log.csv", "--calibration-end", "2025-06-30", "--unit", "weeks")
	require.Contains(t, text, "transaction log log.csv: ")
	require.Contains(t, text, "calibration to 2025-06-30 (20000 customers), holdout to ")
	require.Contains(t, text, "BG/NBD: log-likelihood ")
	require.Contains(t, text, "converged in ")
	require.Contains(t, text, "correlation of frequency and mean value: ")
	require.Contains(t, text, "x in calibration")
	require.Contains(t, text, "time unit weeks")
}

func TestCLVFitErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log.csv"), []byte("cust,day,amount\nA,2025-01-01,5\nA,2025-13-02,5\n"), 0o644))
	r := crmwh(t, dir, "clv", "fit", "log.csv")
	require.Equal(t, 1, r.code)
	require.Equal(t, `crmwh: bad transaction log: log.csv has no customer column "customer_id" (its columns: cust, day, amount)`+"\n", r.stderr)
	r = crmwh(t, dir, "clv", "fit", "log.csv", "--customer", "cust", "--date", "day")
	require.Equal(t, 1, r.code)
	require.Equal(t, `crmwh: bad transaction log: log.csv, row 2: date "2025-13-02" in column day does not parse as an ISO date or timestamp (give the format with --date-format)`+"\n", r.stderr)
	r = crmwh(t, dir, "clv", "fit", "log.csv", "--unit", "months")
	require.Equal(t, 2, r.code)
	require.Equal(t, `crmwh: --unit: unknown time unit "months" (want days or weeks)`+"\n", r.stderr)
	r = crmwh(t, dir, "clv", "fit", "log.csv", "--calibration-end", "June")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, `--calibration-end "June": expected a date such as 2025-06-30`)

	r = crmwh(t, dir, "clv", "fit", "log.csv", "--margin", "0")
	require.Equal(t, 2, r.code)
	require.Equal(t, "crmwh: --margin 0: expected a share of spend in (0, 1]\n", r.stderr)

	out := mustRun(t, dir, "clv", "fit", "--help")
	require.Contains(t, out, "Examples:")
	require.Contains(t, out, "crmwh clv fit")
}

// TestCLVFitWhereRunsInTheSandbox: --where is SQL the user wrote; it may
// read the transaction log and nothing else, and must be one condition.
func TestCLVFitWhereRunsInTheSandbox(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log.csv"), []byte("customer_id,date,amount\nA,2025-01-01,5\nA,2025-02-01,7\nB,2025-01-03,4\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.csv"), []byte("customer_id\nA\n"), 0o644))
	for _, c := range []struct{ where, want string }{
		{"1=1) UNION ALL (SELECT 1", "is not one expression"},
		{"true; COPY (SELECT 42) TO 'log.csv'; SELECT true", `syntax error at or near ";"`},
		{"true) ; COPY (SELECT 42) TO 'log.csv'; SELECT (true", "COPY is not a query"},
		{"customer_id IN (SELECT customer_id FROM read_csv('other.csv'))", "Permission Error"},
		{"customer_id IN (SELECT column0 FROM read_csv('/etc/passwd'))", "Permission Error"},
		{"EXISTS (SELECT * FROM glob('/etc/*'))", "Permission Error"},
	} {
		r := crmwh(t, dir, "clv", "fit", "log.csv", "--where", c.where)
		require.Equal(t, 1, r.code, c.where)
		require.Contains(t, r.stderr, c.want, c.where)
	}
	b, err := os.ReadFile(filepath.Join(dir, "log.csv"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "customer_id,date,amount\n"), "the log is untouched")
	// A glob is expanded by crmwh: the files it names may be read. (Two
	// customers are too few for the fit to converge; the rows are read.)
	r := crmwh(t, dir, "clv", "fit", "l*.csv", "--where", "amount::double > 4", "--json")
	require.Contains(t, r.stdout, `"rows": 2,`, r.stderr)
}
