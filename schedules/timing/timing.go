// Package timing says when a schedule fires. It parses cron expressions with
// robfig/cron/v3's parser and computes run times as pure functions of the
// time given, so that time zones, daylight saving and missed runs can be
// tested with fixed times.
//
// Five-field expressions and descriptors such as @daily are wall-clock
// schedules: they name times on the clock of the schedule's time zone, and
// each matching wall-clock time runs once. When daylight saving skips an
// hour, the times that fall in it run once, at the shift (robfig/cron would
// skip them). When it repeats an hour, a time in it runs at its first
// occurrence only (robfig/cron would run it twice). @every schedules are
// intervals of elapsed time and ignore the clock.
package timing

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Parser accepts the documented forms: five fields (minute, hour, day of
// month, month, day of week) and the descriptors @yearly, @annually,
// @monthly, @weekly, @daily, @midnight, @hourly and @every <duration>.
var Parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule says when something fires next. It is robfig/cron's Schedule, so
// the cron engine can run it.
type Schedule interface {
	// Next returns the first run time strictly after t, or the zero time
	// when there is none.
	Next(t time.Time) time.Time
}

// Wall is a wall-clock schedule in a time zone.
type Wall struct {
	// civil matches wall-clock times; it works on UTC times that stand for
	// wall-clock readings, where no hour is skipped or repeated.
	civil *cron.SpecSchedule
	loc   *time.Location
}

// Every is an interval of elapsed time (@every 15m).
type Every struct {
	Delay time.Duration
}

// ErrNever marks an expression that matches no time at all, such as
// 30 February.
var ErrNever = errors.New("never fires")

// fieldNames name the five fields for error messages.
var fieldNames = []string{"minute", "hour", "day of month", "month", "day of week"}

// Parse parses a cron expression for the time zone loc. Errors say what is
// wrong and, for five-field expressions, in which field.
func Parse(expr string, loc *time.Location) (Schedule, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("empty expression (expected five fields such as \"30 2 * * *\", or @daily, or @every 15m)")
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("%q: a time zone prefix is not allowed here; use the schedule's timezone key", expr)
	}
	if loc == nil {
		loc = time.UTC
	}
	s, err := Parser.Parse(expr)
	if err != nil {
		return nil, explain(expr, err)
	}
	switch s := s.(type) {
	case *cron.SpecSchedule:
		c := *s
		c.Location = time.UTC
		w := &Wall{civil: &c, loc: loc}
		// Five years is robfig's search limit; an expression that finds no
		// time in it (30 February) would never run.
		if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
			return nil, fmt.Errorf("%q: %w: no date matches its day and month fields", expr, ErrNever)
		}
		return w, nil
	case cron.ConstantDelaySchedule:
		d, _ := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(expr, "@every")))
		if d < time.Second {
			return nil, fmt.Errorf("%q: the interval must be at least 1s", expr)
		}
		if d%time.Second != 0 {
			return nil, fmt.Errorf("%q: the interval must be whole seconds", expr)
		}
		return Every{Delay: s.Delay}, nil
	default:
		return nil, fmt.Errorf("%q: unsupported schedule type %T", expr, s)
	}
}

// explain turns the parser's error into one that names the field.
func explain(expr string, err error) error {
	fields := strings.Fields(expr)
	if strings.HasPrefix(expr, "@") {
		if strings.HasPrefix(expr, "@every") {
			return fmt.Errorf("%q: %v (expected @every followed by a duration such as 15m or 1h30m)", expr, err)
		}
		return fmt.Errorf("%q: unknown descriptor (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)", expr)
	}
	if len(fields) != 5 {
		return fmt.Errorf("%q: expected five fields (minute hour day-of-month month day-of-week), found %d", expr, len(fields))
	}
	for i, f := range fields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = f
		if _, perr := Parser.Parse(strings.Join(probe, " ")); perr != nil {
			return fmt.Errorf("%q: %s field %q: %v", expr, fieldNames[i], f, perr)
		}
	}
	return fmt.Errorf("%q: %v", expr, err)
}

// Location is the schedule's time zone.
func (w *Wall) Location() *time.Location { return w.loc }

// Next returns the first run time strictly after t: the next matching
// wall-clock time in the schedule's zone, at its first occurrence when the
// clock repeats it, or the instant of the shift when the clock skips it.
func (w *Wall) Next(t time.Time) time.Time {
	local := t.In(w.loc)
	c := civil(local)
	// Each loop step moves to a later wall-clock time; only times that
	// resolve to instants at or before t (in a repeated or skipped hour)
	// make it go round more than once, at most one hour's worth.
	for i := 0; i < 100000; i++ {
		c = w.civil.Next(c)
		if c.IsZero() {
			return time.Time{}
		}
		if at := Resolve(c, w.loc); at.After(t) {
			return at.In(t.Location())
		}
	}
	return time.Time{}
}

// civil returns t's wall-clock reading as a UTC time.
func civil(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Resolve returns the instant at which the wall-clock reading c (a UTC time
// standing for a reading on loc's clocks) happens: its first occurrence when
// the clocks show it twice, and the instant the clocks jump when they skip
// it.
func Resolve(c time.Time, loc *time.Location) time.Time {
	t := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), loc)
	if got := civil(t); !got.Equal(c) {
		// Skipped: time.Date moved the reading across the gap, to either
		// side depending on the zone. The gap is the boundary between t's
		// zone period and its neighbour.
		start, end := t.ZoneBounds()
		if got.After(c) {
			return start
		}
		return end
	}
	// Repeated: the same reading may also exist in the zone period before
	// t's, where the offset was different.
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t
	}
	_, off := t.Zone()
	_, prevOff := start.Add(-time.Nanosecond).Zone()
	if prevOff == off {
		return t
	}
	earlier := t.Add(time.Duration(off-prevOff) * time.Second)
	if earlier.Before(start) && earlier.Before(t) && civil(earlier.In(loc)).Equal(c) {
		return earlier
	}
	return t
}

// Next returns t plus the interval, on a whole second, as robfig/cron does.
func (e Every) Next(t time.Time) time.Time {
	return t.Add(e.Delay - time.Duration(t.Nanosecond()))
}

// Miss describes the runs a schedule should have made while nothing was
// watching it.
type Miss struct {
	// First and Last are the first and last missed run times.
	First, Last time.Time
	// Count is how many runs were missed (counted up to 100,000).
	Count int
}

// Missed returns the runs of s due after lastAlive (when a scheduler last
// watched it) and at or before now. lastRun is when the schedule last
// started a scheduled run; @every schedules count their intervals from it,
// and without one they have missed nothing. With lastAlive zero (never
// watched) nothing was missed.
func Missed(s Schedule, lastAlive, lastRun, now time.Time) (Miss, bool) {
	if lastAlive.IsZero() || !now.After(lastAlive) {
		return Miss{}, false
	}
	next := s.Next
	if e, ok := s.(Every); ok {
		if lastRun.IsZero() {
			return Miss{}, false
		}
		// Runs are due at lastRun + k·Delay.
		next = func(t time.Time) time.Time {
			if t.Before(lastRun) {
				return lastRun
			}
			k := t.Sub(lastRun)/e.Delay + 1
			return lastRun.Add(k * e.Delay)
		}
	}
	var m Miss
	for t := next(lastAlive); !t.IsZero() && !t.After(now); t = next(t) {
		if m.Count == 0 {
			m.First = t
		}
		m.Last = t
		m.Count++
		if m.Count == 100000 {
			break
		}
	}
	return m, m.Count > 0
}

// Upcoming returns the next n run times after t.
func Upcoming(s Schedule, t time.Time, n int) []time.Time {
	var out []time.Time
	for i := 0; i < n; i++ {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}
