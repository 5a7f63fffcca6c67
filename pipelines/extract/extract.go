// Package extract runs the configured sources' streams into the lake, in
// parallel up to a limit, and reports progress and a per-stream summary.
package extract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/secret"
)

// Options configure a run.
type Options struct {
	Lake        *lake.Lake
	Sources     []pipelines.SourceConfig
	Env         pipelines.Env
	RunID       string
	Parallelism int
	// Only limits the run to these streams ("source" or "source.stream").
	Only []string
	// Full reloads the selected streams from scratch: the reload's rows
	// replace the stream's when it completes (see lake.Reload).
	Full bool
	// Readers says which retired lake files warehouses still read (see
	// lake.Readers); nil means none do.
	Readers lake.Readers
	// Catalog, if set, publishes the lake's streams as tables of an
	// outside catalog (package iceberg) once the lake has committed them:
	// every stream the lake holds when the run starts (catching up after
	// a crash, or a catalog that was down), and each stream of the run
	// after it. The lake's manifest stays the commit point: a failure to
	// publish is a warning of the run (Result.CatalogErrors), and the next
	// run, or `crmwh lake iceberg`, catches the catalog up.
	Catalog Catalog
	// Progress, if set, is called about twice a second and once at the end
	// with every stream's counters.
	Progress func([]StreamResult)
	Logger   *slog.Logger
	// Retry is how a stream that fails with a passing fault of its source
	// (pipelines.Retrier: a connection cut, a server restart) is tried
	// again; zero fields take DefaultRetry's.
	Retry Retry
}

// Retry says how often, and after how long, a stream is retried after a
// passing fault. Each retry continues from the stream's last commit.
type Retry struct {
	// Max is the number of retries after the first attempt.
	Max int
	// Backoff is the wait before the first retry; it doubles for each
	// further one, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
}

// DefaultRetry retries five times over about half a minute: long enough
// for a database server to restart.
var DefaultRetry = Retry{Max: 5, Backoff: time.Second, MaxBackoff: 15 * time.Second}

func (r Retry) orDefault() Retry {
	if r.Max <= 0 {
		r.Max = DefaultRetry.Max
	}
	if r.Backoff <= 0 {
		r.Backoff = DefaultRetry.Backoff
	}
	if r.MaxBackoff < r.Backoff {
		r.MaxBackoff = max(DefaultRetry.MaxBackoff, r.Backoff)
	}
	return r
}

// Catalog publishes the lake's streams as tables of an outside catalog.
type Catalog interface {
	// Publish brings the table of a stream up to date with the stream's
	// committed manifest; a table already up to date is left as it is.
	Publish(ctx context.Context, source, stream string) error
}

// StreamResult is one stream's outcome.
type StreamResult struct {
	Source     string        `json:"source"`
	Stream     string        `json:"stream"`
	State      string        `json:"state"` // waiting, running, ok, failed
	Rows       int64         `json:"rows"`
	Quarantine int64         `json:"quarantined"`
	Bytes      int64         `json:"bytes"`
	Files      int64         `json:"files"`
	LakeRows   int64         `json:"lake_rows"`
	Duration   time.Duration `json:"duration_ns"`
	// Full is true when the stream was reloaded from scratch.
	Full bool `json:"full,omitempty"`
	// Counters are named counts such as null_watermark (rows in the
	// NULL-watermark snapshot), lookback_reread and lookback_duplicates.
	Counters map[string]int64 `json:"counters,omitempty"`
	Reports  []lake.Report    `json:"reports,omitempty"`
	Error    string           `json:"error,omitempty"`
}

// Name is source.stream.
func (r StreamResult) Name() string { return r.Source + "." + r.Stream }

// Result is a run's outcome.
type Result struct {
	RunID     string         `json:"run_id"`
	Streams   []StreamResult `json:"streams"`
	Recovered int            `json:"recovered_files"`
	Duration  time.Duration  `json:"duration_ns"`
	// CatalogErrors are what publishing the streams in Options.Catalog
	// failed with (the lake has the rows all the same).
	CatalogErrors []string `json:"catalog_errors,omitempty"`
}

// Totals sums rows and quarantined rows over streams.
func (r Result) Totals() (rows, bad int64) {
	for _, s := range r.Streams {
		rows += s.Rows
		bad += s.Quarantine
	}
	return
}

// Warnings counts the streams' reports (changed files and the like).
func (r Result) Warnings() int {
	n := 0
	for _, s := range r.Streams {
		n += len(s.Reports)
	}
	return n + len(r.CatalogErrors)
}

// ErrStreamsFailed wraps a run in which some streams failed.
var ErrStreamsFailed = errors.New("extract failed")

// ErrNoStream means a stream named on the command line is not configured.
var ErrNoStream = errors.New("unknown stream")

type job struct {
	src    pipelines.SourceConfig
	stream pipelines.StreamConfig
	res    *StreamResult
	sink   *lake.StreamSink
	start  time.Time
}

// Run extracts every selected stream. It takes the lake's lock and first
// removes what an earlier killed run left in the lake. A stream's failure
// does not stop the others; the returned error (wrapping ErrStreamsFailed)
// lists them.
func Run(ctx context.Context, o Options) (Result, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	res := Result{RunID: o.RunID}
	unlock, err := o.Lake.Lock("extract, run " + o.RunID)
	if err != nil {
		return res, err
	}
	defer unlock()
	var mu sync.Mutex
	publish := func(source, stream string) {
		if o.Catalog == nil {
			return
		}
		if err := o.Catalog.Publish(ctx, source, stream); err != nil {
			msg := secret.Mask(err.Error())
			log.Warn("publishing the stream in the catalog failed; the lake has its rows, and the next extract catches the catalog up",
				"run_id", o.RunID, "stream", source+"."+stream, "err", msg)
			mu.Lock()
			res.CatalogErrors = append(res.CatalogErrors, msg)
			mu.Unlock()
		}
	}
	if o.Catalog != nil {
		// Commits an earlier run made but did not publish (it was killed,
		// or the catalog was down) come first; so does each table's
		// expiry of old snapshots, before Recover asks which files they
		// read.
		ms, err := o.Lake.Manifests()
		if err != nil {
			return res, err
		}
		for _, m := range ms {
			publish(m.Source, m.Stream)
		}
	}
	rec, err := o.Lake.Recover(o.Readers)
	if err != nil {
		return res, err
	}
	res.Recovered = rec.Removed
	if rec.Removed > 0 {
		log.Warn("removed files left by an interrupted run", "files", rec.Removed)
	}
	if rec.Deleted > 0 {
		log.Info("deleted replaced lake files that no warehouse reads", "files", rec.Deleted)
	}
	if rec.KeptAll != nil {
		log.Info("kept every replaced lake file", "files", rec.Kept, "reason", rec.KeptAll.Error())
	} else if rec.Kept > 0 {
		log.Info("kept replaced lake files that a warehouse still reads", "files", rec.Kept)
	}

	var jobs []*job
	for _, src := range o.Sources {
		for _, st := range src.Streams {
			if !selected(o.Only, src.Name, st.Name) {
				continue
			}
			jobs = append(jobs, &job{src: src, stream: st, res: &StreamResult{Source: src.Name, Stream: st.Name, State: "waiting"}})
		}
	}
	if len(o.Only) > 0 && len(jobs) == 0 {
		return res, fmt.Errorf("%w: no stream matches %s", ErrNoStream, strings.Join(o.Only, ", "))
	}
	if o.Full {
		for _, j := range jobs {
			if err := o.Lake.RequestReload(j.src.Name, j.stream.Name, "crmwh extract --full (run "+o.RunID+")"); err != nil {
				return res, err
			}
		}
	}

	snapshot := func() []StreamResult {
		mu.Lock()
		defer mu.Unlock()
		out := make([]StreamResult, len(jobs))
		for i, j := range jobs {
			r := *j.res
			if j.sink != nil && r.State == "running" {
				r.Rows, r.Quarantine, r.Bytes, r.Files = j.sink.Rows.Load(), j.sink.Bad.Load(), j.sink.Bytes.Load(), j.sink.Files.Load()
				r.Duration = time.Since(j.start)
			}
			out[i] = r
		}
		return out
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if o.Progress == nil {
			return
		}
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				o.Progress(snapshot())
			case <-stopProgress:
				return
			}
		}
	}()

	par := o.Parallelism
	if par < 1 {
		par = 2
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	sources := map[string]pipelines.Source{}
	var srcErr = map[string]error{}
	var srcMu sync.Mutex
	openSource := func(cfg pipelines.SourceConfig) (pipelines.Source, error) {
		srcMu.Lock()
		defer srcMu.Unlock()
		if s, ok := sources[cfg.Name]; ok {
			return s, nil
		}
		if err, ok := srcErr[cfg.Name]; ok {
			return nil, err
		}
		s, err := pipelines.Open(cfg, o.Env)
		if err != nil {
			srcErr[cfg.Name] = err
			return nil, err
		}
		sources[cfg.Name] = s
		return s, nil
	}
	for _, j := range jobs {
		wg.Add(1)
		go func(j *job) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				j.res.State, j.res.Error = "failed", ctx.Err().Error()
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			runJob(ctx, o, j, &mu, openSource, log)
			publish(j.src.Name, j.stream.Name)
		}(j)
	}
	wg.Wait()
	close(stopProgress)
	<-progressDone
	for _, s := range sources {
		s.Close()
	}
	res.Streams = snapshot()
	res.Duration = time.Since(start)
	if o.Progress != nil {
		o.Progress(res.Streams)
	}
	var failed []string
	for _, s := range res.Streams {
		if s.State == "failed" {
			failed = append(failed, s.Name()+": "+s.Error)
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%w: %s", ErrStreamsFailed, strings.Join(failed, "; "))
	}
	return res, nil
}

func runJob(ctx context.Context, o Options, j *job, mu *sync.Mutex, open func(pipelines.SourceConfig) (pipelines.Source, error), log *slog.Logger) {
	mu.Lock()
	j.start = time.Now()
	j.sink = o.Lake.Sink(j.src.Name, j.stream.Name, o.RunID, j.start)
	j.sink.Policy = j.stream.SchemaPolicy()
	j.res.State = "running"
	mu.Unlock()

	err := func() error {
		src, err := open(j.src)
		if err != nil {
			return err
		}
		if wt, ok := src.(pipelines.WriterThreads); ok {
			j.sink.Threads = wt.WriterThreads()
		}
		retry := o.Retry.orDefault()
		delay := retry.Backoff
		reloaded := false
		for attempt := 1; ; attempt++ {
			// Each attempt starts from what the stream's last commit
			// recorded: rows of an aborted unit are not in the lake.
			state, err := j.sink.State()
			if err != nil {
				return err
			}
			if state.Full && attempt == 1 {
				log.Info("reloading stream from scratch", "run_id", o.RunID, "stream", j.src.Name+"."+j.stream.Name)
			}
			err = src.Extract(ctx, j.stream, state, j.sink)
			if errors.Is(err, pipelines.ErrReload) && !reloaded && !state.Full {
				// on_file_change: reload. The reload's rows replace the
				// stream's when it completes, as with extract --full.
				reloaded = true
				why := secret.Mask(err.Error())
				if rerr := o.Lake.RequestReload(j.src.Name, j.stream.Name, "on_file_change: reload, run "+o.RunID); rerr != nil {
					return rerr
				}
				j.sink.Report("reloaded", why+": the stream is reloaded from scratch")
				log.Warn("reloading stream from scratch: a file loaded before changed", "run_id", o.RunID,
					"stream", j.src.Name+"."+j.stream.Name, "why", why)
				attempt--
				continue
			}
			r, ok := src.(pipelines.Retrier)
			if err == nil || !ok || !r.Retryable(err) || attempt > retry.Max || ctx.Err() != nil {
				return err
			}
			j.sink.Count("retries", 1)
			log.Warn("stream interrupted by a passing fault of its source; retrying from its last commit", "run_id", o.RunID,
				"stream", j.src.Name+"."+j.stream.Name, "attempt", attempt, "retry_in", delay, "err", secret.Mask(err.Error()))
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return err
			}
			delay = min(2*delay, retry.MaxBackoff)
		}
	}()
	// Masked before it is recorded anywhere: the manifest, the summary,
	// the logs.
	err = secret.Error(err)
	if err != nil && errors.Is(err, pipelines.ErrMissing) && j.stream.Optional {
		j.sink.Report("missing", err.Error()+" (the stream is optional: nothing loaded)")
		err = nil
	}
	if ferr := j.sink.Finish(err); ferr != nil && err == nil {
		err = ferr
	}
	m, merr := o.Lake.Manifest(j.src.Name, j.stream.Name)

	mu.Lock()
	defer mu.Unlock()
	r := j.res
	r.Rows, r.Quarantine, r.Bytes, r.Files = j.sink.Rows.Load(), j.sink.Bad.Load(), j.sink.Bytes.Load(), j.sink.Files.Load()
	r.Duration = time.Since(j.start)
	r.Reports = j.sink.Reports()
	r.Full = j.sink.Reloading()
	if c := j.sink.Counters(); len(c) > 0 {
		r.Counters = c
	}
	if merr == nil {
		r.LakeRows = m.Rows()
	}
	for _, rep := range r.Reports {
		log.Warn("stream warning", "run_id", o.RunID, "stream", r.Name(), "kind", rep.Kind, "msg", rep.Msg)
	}
	if err != nil {
		r.State, r.Error = "failed", err.Error()
		log.Error("stream failed", "run_id", o.RunID, "stream", r.Name(), "err", err)
		return
	}
	r.State = "ok"
	log.Info("stream extracted", "run_id", o.RunID, "stream", r.Name(), "rows", r.Rows,
		"quarantined", r.Quarantine, "files", r.Files, "duration", r.Duration)
}

func selected(only []string, source, stream string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if o == source || o == source+"."+stream {
			return true
		}
	}
	return false
}
