// Package clvsim simulates customers from BG/NBD and Gamma-Gamma with
// known parameters, for tests and benchmarks of package clv. The same
// options give the same customers on any number of CPUs.
package clvsim

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"crmwh/warehouse/clv"
)

// Options describe a simulated population.
type Options struct {
	Customers int
	// BGNBD drives purchases and drop-out, unless ParetoNBD is set.
	BGNBD clv.BGNBD
	// ParetoNBD, when not nil, drives them instead: each customer lives
	// for an exponential time with rate μ ~ Gamma(s, β) from the first
	// purchase.
	ParetoNBD  *clv.ParetoNBD
	GammaGamma clv.GammaGamma
	// MaxT: each customer's first purchase falls uniformly in the MaxT
	// time units before the end of calibration, so T ~ Uniform(0, MaxT)
	// (whole numbers 0 … MaxT in Whole mode).
	MaxT float64
	// Holdout is the length of a holdout period after calibration.
	Holdout float64
	// Whole makes time run in whole units, as calendar days do: the first
	// purchase happens at a uniform time of its day, x counts distinct
	// purchase days after the first day, t_x and T are whole numbers of
	// days, and a day's value is the sum of its purchases. Without it,
	// time is continuous and every purchase counts.
	Whole bool
	Seed  uint64
}

// Customer is one simulated customer.
type Customer struct {
	clv.Summary
	// HoldoutX is the number of purchases (purchase days in Whole mode) in
	// the holdout period.
	HoldoutX float64
	// The customer's own parameters (P is BG/NBD's drop-out probability,
	// Mu Pareto/NBD's drop-out rate).
	Lambda, P, Mu, Nu float64
	// Alive is whether the customer was alive at the end of calibration.
	Alive bool
}

const chunk = 4096

// Simulate draws o.Customers customers.
func Simulate(o Options) []Customer {
	out := make([]Customer, o.Customers)
	nChunks := (o.Customers + chunk - 1) / chunk
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				src := rand.NewPCG(o.Seed, uint64(c))
				r := rand.New(src)
				for i := c * chunk; i < min((c+1)*chunk, o.Customers); i++ {
					out[i] = one(r, src, o)
				}
			}
		}()
	}
	for c := range nChunks {
		next <- c
	}
	close(next)
	wg.Wait()
	return out
}

func one(r *rand.Rand, src rand.Source, o Options) Customer {
	return simulate(r, src, o, nil)
}

// simulate draws one customer; in Whole mode it calls emit, if not nil,
// for every purchase with its day (0 is the first purchase's) and value.
func simulate(r *rand.Rand, src rand.Source, o Options, emit func(day, value float64)) Customer {
	var lambda, p, mu float64
	death := math.Inf(1) // Pareto/NBD: the end of the lifetime
	if pn := o.ParetoNBD; pn != nil {
		lambda = distuv.Gamma{Alpha: pn.R, Beta: pn.Alpha, Src: src}.Rand()
		mu = distuv.Gamma{Alpha: pn.S, Beta: pn.Beta, Src: src}.Rand()
		death = r.ExpFloat64() / mu
	} else {
		lambda = distuv.Gamma{Alpha: o.BGNBD.R, Beta: o.BGNBD.Alpha, Src: src}.Rand()
		p = distuv.Beta{Alpha: o.BGNBD.A, Beta: o.BGNBD.B, Src: src}.Rand()
	}
	nu := distuv.Gamma{Alpha: o.GammaGamma.Q, Beta: o.GammaGamma.Gamma, Src: src}.Rand()
	value := distuv.Gamma{Alpha: o.GammaGamma.P, Beta: nu, Src: src}
	c := Customer{Lambda: lambda, P: p, Mu: mu, Nu: nu, Alive: true}

	if !o.Whole {
		T := r.Float64() * o.MaxT
		c.T = T
		c.Alive = death > T
		var sum float64
		t := 0.0
		for {
			t += r.ExpFloat64() / lambda
			if t > T+o.Holdout || t > death {
				break
			}
			if t <= T {
				c.X++
				c.Tx = t
				sum += value.Rand()
			} else {
				c.HoldoutX++
			}
			if r.Float64() < p {
				if t <= T {
					c.Alive = false
				}
				break
			}
		}
		if c.X > 0 {
			c.Monetary = sum / c.X
		}
		return c
	}

	// Whole days: day 0 is the first purchase's, the calibration ends with
	// day T, the holdout covers days T+1 … T+Holdout.
	T := math.Floor(r.Float64() * (o.MaxT + 1))
	c.T = T
	f0 := r.Float64()
	c.Alive = f0+death > T+1
	if emit != nil {
		emit(0, value.Rand())
	}
	lastDay, dayValue := 0.0, 0.0
	var sum float64
	flush := func() {
		if lastDay > 0 && lastDay <= T {
			sum += dayValue
		}
	}
	t := 0.0
	for {
		t += r.ExpFloat64() / lambda
		day := math.Floor(f0 + t)
		if day > T+o.Holdout || t > death {
			break
		}
		v := value.Rand()
		if emit != nil {
			emit(day, v)
		}
		if day != lastDay {
			flush()
			if day <= T {
				c.X++
				c.Tx = day
			} else {
				c.HoldoutX++
			}
			lastDay, dayValue = day, 0
		}
		dayValue += v
		if r.Float64() < p {
			if day <= T {
				c.Alive = false
			}
			break
		}
	}
	flush()
	if c.X > 0 {
		c.Monetary = sum / c.X
	}
	return c
}

// Summaries returns the customers' calibration summaries.
func Summaries(cs []Customer) []clv.Summary {
	out := make([]clv.Summary, len(cs))
	for i, c := range cs {
		out[i] = c.Summary
	}
	return out
}

// WriteLog writes a transaction log of o.Customers customers simulated in
// Whole mode as CSV, customer_id,date,amount, where each customer's day
// T is calibrationEnd; it returns the customers, whose summaries are what
// the log should summarise to. Purchases come in customer order, values
// rounded to cents.
func WriteLog(w io.Writer, o Options, calibrationEnd time.Time) ([]Customer, error) {
	o.Whole = true
	out := make([]Customer, o.Customers)
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("customer_id,date,amount\n")
	var line []byte
	for c := 0; c*chunk < o.Customers; c++ {
		src := rand.NewPCG(o.Seed, uint64(c))
		r := rand.New(src)
		for i := c * chunk; i < min((c+1)*chunk, o.Customers); i++ {
			var first time.Time
			var T float64
			var rows [][2]float64
			cu := simulate(r, src, o, func(day, value float64) { rows = append(rows, [2]float64{day, value}) })
			T = cu.T
			first = calibrationEnd.AddDate(0, 0, -int(T))
			for _, row := range rows {
				line = line[:0]
				line = append(line, 'C')
				line = strconv.AppendInt(line, int64(i), 10)
				line = append(line, ',')
				line = first.AddDate(0, 0, int(row[0])).AppendFormat(line, time.DateOnly)
				line = append(line, ',')
				line = strconv.AppendFloat(line, math.Max(0.01, math.Round(row[1]*100)/100), 'f', 2, 64)
				line = append(line, '\n')
				if _, err := bw.Write(line); err != nil {
					return nil, err
				}
			}
			out[i] = cu
		}
	}
	return out, bw.Flush()
}

// CDNOW is where the CDNOW purchase log (Fader & Hardie's data set, real
// purchases of 23,570 customers from 1997 to mid-1998) lies relative to a
// checkout of the project: ../shared/data/cdnow/ beside it.
const CDNOW = "shared/data/cdnow/CDNOW_master.txt"

// FindCDNOW returns the path of the CDNOW log, looking for CDNOW in the
// working directory's ancestors (tests run in package folders; the data
// sit beside the checkout, or beside the folder of worktrees).
func FindCDNOW() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, filepath.FromSlash(CDNOW))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("the CDNOW log (%s) is not beside any folder above the working directory", CDNOW)
		}
		dir = up
	}
}
