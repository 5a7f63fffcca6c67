package render

import (
	"context"
	"database/sql"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"crmwh/dashboards/spec"
)

// workers is how many chart queries and page documents are made at once:
// one per CPU. A chart query is one DuckDB query that may itself use
// every thread, but most of a page's queries are small, and reading rows
// into Go, formatting them and executing templates are single-threaded;
// two at a time keep both cores of a small machine busy.
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// forEach calls f(0) … f(n−1) on up to workers() goroutines and returns
// the error of the lowest index that failed, so the result does not depend
// on scheduling. Every call runs, whatever the others return.
func forEach(n int, f func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers(), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pendingQuery is a chart query running, or queued, in the background.
type pendingQuery struct {
	done chan struct{}
	res  *result
	err  error
}

// wait returns the query's rows once it has finished.
func (q *pendingQuery) wait() (*result, error) {
	<-q.done
	return q.res, q.err
}

// chartQueries starts the SQL queries of the charts of every rendered page
// (not the metric cards, which read the metrics loaded once), workers() at
// a time, in page order; the result is keyed by page and chart index. Each
// query's CSV file is written as its rows are read, and a table keeps only
// the rows it shows. stop cancels what has not finished and waits for
// every query to return, so nothing uses db after it.
func (s *site) chartQueries(ctx context.Context, db *sql.DB) (queries map[[2]int]*pendingQuery, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	type job struct {
		page, chart string
		q           string
		read        chartRead
		p           *pendingQuery
	}
	var jobs []job
	queries = map[[2]int]*pendingQuery{}
	for i := range s.pages {
		pd := &s.pages[i]
		if !pd.render {
			continue
		}
		for j, cd := range pd.charts {
			if len(cd.spec.Defs) > 0 {
				continue
			}
			p := &pendingQuery{done: make(chan struct{})}
			queries[[2]int{i, j}] = p
			read := chartRead{csv: true}
			if cd.spec.Kind == spec.Table {
				read.keep = MaxTableRows
			}
			jobs = append(jobs, job{page: pd.page.Name, chart: cd.spec.Name, q: cd.spec.Query, read: read, p: p})
		}
	}
	log := s.opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		_ = forEach(len(jobs), func(k int) error {
			jb := jobs[k]
			defer close(jb.p.done)
			if jb.p.err = ctx.Err(); jb.p.err != nil {
				return nil
			}
			start := time.Now()
			jb.p.res, jb.p.err = readQuery(ctx, db, jb.q, jb.read)
			if jb.p.err == nil {
				log.Info("dashboards: chart query", "page", jb.page, "chart", jb.chart,
					"rows", jb.p.res.count(), "seconds", time.Since(start).Seconds())
			}
			return nil
		})
	}()
	return queries, func() {
		cancel()
		<-finished
	}
}
