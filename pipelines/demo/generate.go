package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Progress reports how far a run is. Customers is the total to generate,
// Done how many are written; Orders counts paid orders and Rows every row
// written (CSV and database) so far.
type Progress struct {
	Customers, Done int
	Orders, Rows    int64
}

// Summary describes a finished dataset.
type Summary struct {
	Customers          int // CRM customer records: People + DuplicateCustomers
	People             int // people in the CRM
	Prospects          int // people who never buy
	Buyers             int
	DuplicateCustomers int // second CRM records of one person
	BillingCustomers   int // billing customer numbers in use

	Orders            int64 // paid orders (purchases)
	RepeatPurchases   int64
	OrderLines        int64 // well-formed order-line rows, of all orders
	Refunds           int64 // refund rows
	Cancelled         int64 // cancelled orders
	MalformedRows     int64 // malformed billing CSV rows
	Interactions      int64
	Tickets           int64
	Complaints        int64 // complaint tickets
	Opportunities     int64
	CampaignResponses int64
	SurveyResponses   int64
	Memberships       int64 // tea club memberships (contracts)

	Files      int // files written
	LegacyDays int // days exported by the legacy billing system
	Start, End time.Time
	Out        string
	Duration   time.Duration
}

// Names of what Generate owns in the output folder; anything else there is
// left alone.
var ownedEntries = []string{"crm.sqlite", "billing", "surveys", "truth"}

const (
	chunkSize   = 256
	bufferBytes = 32 << 20 // CSV bytes buffered before files are written
)

// Generate writes the demo dataset to o.Out. It builds everything in a
// temporary folder beside o.Out and moves it into place only when complete,
// so a failed or cancelled run leaves the previous dataset (or nothing). The
// progress callback, if any, is called from one goroutine at a time.
func Generate(ctx context.Context, o Options, progress func(Progress)) (Summary, error) {
	began := time.Now()
	if err := o.Validate(); err != nil {
		return Summary{}, err
	}
	out, err := checkOut(o.Out)
	if err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return Summary{}, fmt.Errorf("creating the parent of --out: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return Summary{}, fmt.Errorf("creating a temporary folder beside %s: %w", out, err)
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(tmp)
		}
	}()

	w := newWorld(o)
	sum, err := run(ctx, w, tmp, progress)
	if err != nil {
		return Summary{}, err
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Summary{}, err
	}
	if err := publish(tmp, out); err != nil {
		return Summary{}, err
	}
	published = true
	sum.Out = out
	sum.Duration = time.Since(began)
	return sum, nil
}

// checkOut refuses output folders whose replacement would hurt: the
// current directory, a folder containing it, or a file system root.
func checkOut(out string) (string, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", fmt.Errorf("--out %s: %w", out, err)
	}
	if filepath.Dir(abs) == abs {
		return "", fmt.Errorf("--out must not be a file system root, got %s", out)
	}
	if wd, err := os.Getwd(); err == nil {
		rel, err := filepath.Rel(abs, wd)
		outside := err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
		if !outside {
			return "", fmt.Errorf("--out %s must not be the current folder or contain it", out)
		}
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return "", fmt.Errorf("--out %s exists and is not a folder", out)
	}
	return abs, nil
}

// publish moves the finished dataset in tmp to out. An existing out folder
// is swapped out whole by two renames, then anything in it that is not part
// of a dataset is moved into the new folder and the old one is removed.
func publish(tmp, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp, out); err != nil {
			return fmt.Errorf("moving the dataset into %s: %w", out, err)
		}
		return nil
	}
	old, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".old-")
	if err != nil {
		return fmt.Errorf("preparing to replace %s: %w", out, err)
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(out, old); err != nil {
		return fmt.Errorf("moving the previous dataset in %s aside: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		if err2 := os.Rename(old, out); err2 != nil {
			return fmt.Errorf("moving the dataset into %s: %w (the previous one is in %s)", out, err, old)
		}
		return fmt.Errorf("moving the dataset into %s: %w", out, err)
	}
	entries, err := os.ReadDir(old)
	if err != nil {
		return fmt.Errorf("reading the previous dataset in %s: %w", old, err)
	}
	for _, e := range entries {
		if owned(e.Name()) {
			continue
		}
		if err := os.Rename(filepath.Join(old, e.Name()), filepath.Join(out, e.Name())); err != nil {
			return fmt.Errorf("keeping %s in %s: %w (it is still in %s)", e.Name(), out, err, old)
		}
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("removing the previous dataset %s: %w", old, err)
	}
	return nil
}

func owned(name string) bool {
	for _, o := range ownedEntries {
		// crm.sqlite-journal and the like belong to the database.
		if name == o || strings.HasPrefix(name, o+"-") {
			return true
		}
	}
	return false
}

// run generates into dir: workers make chunks of customers in parallel, and
// two writers (database; CSV and truth files) consume them in order, so the
// output does not depend on scheduling. At most a fixed number of chunks
// exists at any time.
func run(ctx context.Context, w *world, dir string, progress func(Progress)) (Summary, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var errOnce sync.Once
	var runErr error
	fail := func(err error) {
		errOnce.Do(func() { runErr = err; cancel(err) })
	}

	n := w.o.Customers
	nChunks := (n + chunkSize - 1) / chunkSize
	workers := max(1, runtime.GOMAXPROCS(0))
	inFlight := 2*workers + 2

	crm, err := openCRM(ctx, filepath.Join(dir, "crm.sqlite"), w)
	if err != nil {
		return Summary{}, err
	}
	fw, err := newFileWriter(dir, w)
	if err != nil {
		crm.close()
		return Summary{}, err
	}

	type job struct {
		index int
		out   chan *chunk
	}
	jobs := make(chan job)
	order := make(chan chan *chunk, inFlight)
	toCRM := make(chan *chunk, 2)
	toFiles := make(chan *chunk, 2)
	pool := sync.Pool{New: func() any { return new(chunk) }}
	release := func(ck *chunk) {
		if ck.refs.Add(-1) == 0 {
			pool.Put(ck)
		}
	}

	var wg sync.WaitGroup
	// Dispatcher: hands out chunk indexes in order; the order channel's
	// capacity bounds the chunks in flight.
	wg.Go(func() {
		defer close(jobs)
		defer close(order)
		for c := range nChunks {
			j := job{index: c, out: make(chan *chunk, 1)}
			select {
			case order <- j.out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			g := newGen(w)
			for j := range jobs {
				ck := pool.Get().(*chunk)
				ck.reset(min(chunkSize, n-j.index*chunkSize), j.index*chunkSize)
				g.ck = ck
				for i := ck.first; i < ck.first+ck.n; i++ {
					g.generate(i)
				}
				g.ck = nil
				j.out <- ck
				if ctx.Err() != nil {
					return
				}
			}
		})
	}
	// Sequencer: passes finished chunks to both writers in index order.
	wg.Go(func() {
		defer close(toCRM)
		defer close(toFiles)
		for ch := range order {
			var ck *chunk
			select {
			case ck = <-ch:
			case <-ctx.Done():
				return
			}
			ck.refs.Store(2)
			for _, to := range []chan *chunk{toCRM, toFiles} {
				select {
				case to <- ck:
				case <-ctx.Done():
					return
				}
			}
		}
	})

	var sum Summary
	var prog Progress
	prog.Customers = n
	nextReport := 0
	wg.Go(func() {
		for ck := range toCRM {
			if ctx.Err() != nil {
				continue
			}
			if err := crm.write(ctx, ck); err != nil {
				fail(fmt.Errorf("writing the CRM database: %w", err))
				continue
			}
			st := &ck.stats
			sum.People += ck.n
			sum.Prospects += st.prospects
			sum.Buyers += st.buyers
			sum.DuplicateCustomers += st.dups
			sum.BillingCustomers += st.billingCustomers
			sum.Orders += st.orders
			sum.RepeatPurchases += st.repeat
			sum.OrderLines += st.lines
			sum.Refunds += st.refunds
			sum.Cancelled += st.cancelled
			sum.MalformedRows += st.malformed
			sum.Complaints += st.complaints
			sum.SurveyResponses += st.surveys
			sum.Interactions += int64(len(ck.interactions))
			sum.Tickets += int64(len(ck.tickets))
			sum.Opportunities += int64(len(ck.opps))
			sum.CampaignResponses += int64(len(ck.responses))
			sum.Memberships += int64(len(ck.memberships))
			prog.Done = ck.first + ck.n
			prog.Orders = sum.Orders
			prog.Rows += int64(len(ck.rows) + len(ck.customers) + len(ck.interactions) + len(ck.tickets) + len(ck.opps) + len(ck.responses) + len(ck.memberships))
			release(ck)
			if progress != nil && (prog.Done >= nextReport || prog.Done == n) {
				nextReport = prog.Done + max(chunkSize, n/200)
				if prog.Done < n { // the final report comes when all is written
					progress(prog)
				}
			}
		}
	})
	wg.Go(func() {
		for ck := range toFiles {
			if ctx.Err() == nil {
				if err := fw.write(ck); err != nil {
					fail(err)
				}
			}
			release(ck)
		}
	})
	wg.Wait()

	if runErr == nil && ctx.Err() != nil {
		runErr = context.Cause(ctx)
	}
	if runErr != nil {
		crm.close()
		fw.abort()
		return Summary{}, runErr
	}
	if err := crm.finish(ctx); err != nil {
		fw.abort()
		if ctx.Err() != nil {
			return Summary{}, ctx.Err()
		}
		return Summary{}, fmt.Errorf("finishing the CRM database: %w", err)
	}
	if err := fw.finish(); err != nil {
		return Summary{}, err
	}
	sum.Customers = sum.People + sum.DuplicateCustomers
	sum.Files = len(w.files.paths) + 6 // + crm.sqlite and five truth files
	sum.LegacyDays = w.legacyDays
	sum.Start = w.clk.start
	sum.End = w.clk.start.AddDate(0, 0, w.clk.days-1)
	if err := writeParams(filepath.Join(dir, "truth", "params.json"), w, sum); err != nil {
		return Summary{}, err
	}
	if err := writeAffinityTruth(filepath.Join(dir, "truth", "affinities.json")); err != nil {
		return Summary{}, err
	}
	if err := writeContractTruth(filepath.Join(dir, "truth", "contracts.json"), sum.Memberships); err != nil {
		return Summary{}, err
	}
	if progress != nil {
		prog.Done = n
		progress(prog)
	}
	return sum, nil
}

func (ck *chunk) reset(n, first int) {
	ck.n, ck.first = n, first
	ck.people = ck.people[:0]
	ck.customers = ck.customers[:0]
	ck.interactions = ck.interactions[:0]
	ck.tickets = ck.tickets[:0]
	ck.opps = ck.opps[:0]
	ck.responses = ck.responses[:0]
	ck.memberships = ck.memberships[:0]
	ck.rows = ck.rows[:0]
	ck.data = ck.data[:0]
	ck.truth = ck.truth[:0]
	ck.stats = chunkStats{}
}

// fileWriter writes the CSV files and truth/ rows of chunks in order.
type fileWriter struct {
	w        *world
	fs       *fileSet
	truth    *truthWriter
	dupSeq   int
	survey   int64
	buf, ids []byte
}

func newFileWriter(dir string, w *world) (*fileWriter, error) {
	fs, err := newFileSet(dir, &w.files, bufferBytes)
	if err != nil {
		return nil, fmt.Errorf("creating billing and survey folders: %w", err)
	}
	tw, err := newTruthWriter(dir)
	if err != nil {
		fs.abort()
		return nil, fmt.Errorf("creating truth files: %w", err)
	}
	return &fileWriter{w: w, fs: fs, truth: tw}, nil
}

func (fw *fileWriter) write(ck *chunk) error {
	w := fw.w
	start := int32(0)
	surveyFirst := int32(2 * w.files.days)
	for _, r := range ck.rows {
		data := ck.data[start:r.end]
		start = r.end
		if r.file >= surveyFirst {
			fw.survey++
			fw.buf = strconv.AppendInt(fw.buf[:0], fw.survey, 10)
			fw.buf = append(fw.buf, ',')
			fw.buf = append(fw.buf, data...)
			data = fw.buf
		}
		line, err := fw.fs.add(r.file, data)
		if err != nil {
			return err
		}
		if r.bad != badNone {
			fw.truth.malformedRow(w.files.paths[r.file], line, badReasons[r.bad])
		}
	}
	start = 0
	for k, p := range ck.people {
		b := fw.buf[:0]
		b = append(b, 'P')
		b = appendPad(b, uint64(ck.first+k+1), w.personWidth)
		b = append(b, ',')
		b = w.customerID(b, ck.first+k+1)
		if p.dup {
			fw.dupSeq++
			b = append(b, ';')
			b = w.customerID(b, w.o.Customers+fw.dupSeq)
		}
		b = append(b, ',')
		b = append(b, ck.truth[start:p.truthEnd]...)
		start = p.truthEnd
		fw.buf = b
		if _, err := fw.truth.peopleBuf.Write(b); err != nil {
			return fmt.Errorf("writing truth/people.csv: %w", err)
		}
	}
	return nil
}

func (fw *fileWriter) finish() error {
	if err := fw.fs.close(); err != nil {
		return err
	}
	return fw.truth.close()
}

func (fw *fileWriter) abort() {
	fw.fs.abort()
	fw.truth.close()
}

// writeParams records the parameters, flags and period in truth/params.json.
func writeParams(path string, w *world, sum Summary) error {
	o, p := w.o, w.par
	type rates struct {
		CRMDupRate     float64 `json:"crm_dup_rate"`
		BillingDupRate float64 `json:"billing_dup_rate"`
		BadEmailRate   float64 `json:"bad_email_rate"`
		BadPhoneRate   float64 `json:"bad_phone_rate"`
		BadRowRate     float64 `json:"bad_row_rate"`
		CancelRate     float64 `json:"cancel_rate"`
		RefundRate     float64 `json:"refund_rate"`
		LegacyShare    float64 `json:"legacy_share"`
		UTCRate        float64 `json:"utc_rate"`
	}
	doc := struct {
		Customers    int    `json:"customers"`
		Years        int    `json:"years"`
		Seed         uint64 `json:"seed"`
		Start        string `json:"start"`
		End          string `json:"end"`
		PeriodStart  string `json:"period_start"`
		PeriodEnd    string `json:"period_end"`
		TimeZone     string `json:"time_zone"`
		TimeUnit     string `json:"time_unit"`
		Currency     string `json:"currency"`
		Rates        rates  `json:"flags"`
		BGNBD        any    `json:"bgnbd"`
		GammaGamma   any    `json:"gamma_gamma"`
		Complaints   any    `json:"complaints"`
		Acquisition  any    `json:"acquisition"`
		LegacyDays   int    `json:"legacy_days"`
		Campaigns    int    `json:"campaigns"`
		Managers     int    `json:"account_managers"`
		ProductCount int    `json:"products"`
	}{
		Customers: o.Customers, Years: o.Years, Seed: o.Seed,
		Start:       sum.Start.Format(time.DateOnly),
		End:         sum.End.Format(time.DateOnly),
		PeriodStart: w.clk.start.Format(time.RFC3339),
		PeriodEnd:   w.clk.start.AddDate(0, 0, w.clk.days).Format(time.RFC3339),
		TimeZone:    "Asia/Shanghai", TimeUnit: "day", Currency: "CNY",
		Rates: rates{o.CRMDupRate, o.BillingDupRate, o.BadEmailRate, o.BadPhoneRate, o.BadRowRate,
			o.CancelRate, o.RefundRate, o.LegacyShare, o.UTCRate},
		BGNBD:      map[string]float64{"r": p.R, "alpha": p.Alpha, "a": p.A, "b": p.B},
		GammaGamma: map[string]float64{"p": p.P, "q": p.Q, "gamma": p.Gamma},
		Complaints: map[string]float64{"probability": p.ComplaintProb, "dropout_factor": p.ComplaintFactor},
		Acquisition: map[string]any{
			"prospect_share": p.ProspectShare, "annual_growth": p.AnnualGrowth, "monthly_seasonality": p.Seasonality,
		},
		LegacyDays: w.legacyDays, Campaigns: len(w.campaigns), Managers: len(w.managers), ProductCount: len(products),
	}
	return writeJSON(path, doc)
}
