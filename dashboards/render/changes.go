package render

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"crmwh/dashboards/spec"
)

// "What changed": a summary card (kind summary) written from the metrics
// it names, for all customers, in every language: the month's largest
// moves (each metric's change on the month before, measured against how
// much that metric usually moves) and the targets crossed (a metric that
// met its target the month before and misses it now, or the other way
// round). The site's changes.json holds the same summary, which the
// scheduler's notification sends when a threshold was crossed.

// ChangesFile is the file, at the top of a folder site, that holds the
// "what changed" summary of the site's summary card (when it has one).
const ChangesFile = "changes.json"

// MaxMoves is how many of the largest moves a summary lists.
const MaxMoves = 3

// Changes is a "what changed" summary in every language.
type Changes struct {
	// Month is the month it is about (2026-10).
	Month string `json:"month"`
	// Moves are the largest moves, largest first; Crossed the targets
	// crossed. Each line is written per language (en, zh).
	Moves   []ChangeLine `json:"moves"`
	Crossed []ChangeLine `json:"crossed"`
}

// ChangeLine is one line of a summary.
type ChangeLine struct {
	Metric string            `json:"metric"`
	Text   map[string]string `json:"text"`
	// Score is how unusual a move is: its size in standard deviations of
	// the metric's earlier monthly moves (0 for a crossed target).
	Score float64 `json:"score"`
}

// summaryView is what a summary card shows in one language.
type summaryView struct {
	Moves   []string `json:"moves"`
	Crossed []string `json:"crossed"`
	None    string   `json:"none,omitempty"`
	// MovesTitle and CrossedTitle head the two lists.
	MovesTitle   string `json:"moves_title"`
	CrossedTitle string `json:"crossed_title"`
}

// changeTexts are the summary's words in a language.
type changeTexts struct {
	Moves, Crossed, NoneCrossed, Move, Unusual, Missed, Reached string
}

var changeWords = map[string]changeTexts{
	"en": {
		Moves:       "Largest moves",
		Crossed:     "Targets crossed",
		NoneCrossed: "No target was crossed.",
		Move:        "%s: %s to %s (%s)",
		Unusual:     ", an unusually large move",
		Missed:      "%s fell short of its target: %s against %s.",
		Reached:     "%s reached its target: %s against %s.",
	},
	"zh": {
		Moves:       "变动最大的指标",
		Crossed:     "目标达成变化",
		NoneCrossed: "没有指标跨越目标。",
		Move:        "%s：%s，至 %s（%s）",
		Unusual:     "，变动幅度异常",
		Missed:      "%s未达目标：%s，目标为 %s。",
		Reached:     "%s达到目标：%s，目标为 %s。",
	},
}

// whatChanged computes the summary of the metrics' series for the month.
func whatChanged(ss []series, targets spec.Targets, month time.Time, currency string) Changes {
	ch := Changes{Month: month.Format("2006-01"), Moves: []ChangeLine{}, Crossed: []ChangeLine{}}
	var moves []ChangeLine
	for _, s := range ss {
		m := s.m
		format := orNumber(m.Format)
		good := m.Good
		if good == "" {
			good = "up"
		}
		cur := s.find(month)
		prev := s.find(addMonths(month, -1))
		v, ok := s.value(cur)
		pv, pok := s.value(prev)
		if !ok || !pok || !s.mature[cur] || !s.mature[prev] {
			continue
		}
		change := func(a, b float64) (float64, bool) {
			if format == spec.Percent {
				return a - b, true
			}
			if b == 0 {
				return 0, false
			}
			return (a - b) / math.Abs(b), true
		}
		c, cok := change(v, pv)
		if cok {
			// How unusual: against the metric's earlier monthly moves.
			var past []float64
			for i := max(1, cur-24); i < cur; i++ {
				a, aok := s.value(i)
				b, bok := s.value(i - 1)
				if aok && bok && s.mature[i] && s.mature[i-1] && s.months[i].Equal(addMonths(s.months[i-1], 1)) {
					if d, dok := change(a, b); dok {
						past = append(past, d)
					}
				}
			}
			score := math.Abs(c) * 10 // without history: tenths of a relative change
			if len(past) >= 6 {
				mean, sd := meanSD(past)
				if sd > 0 {
					score = math.Abs(c-mean) / sd
				}
			}
			line := ChangeLine{Metric: m.Name, Score: score, Text: map[string]string{}}
			for _, lang := range spec.Languages {
				f := Formatter{Lang: lang, Currency: currency}
				w := changeWords[lang]
				text, _, _ := f.Delta(v, pv, format)
				vs := kpiWords[lang].MoM + " " + f.Time(addMonths(month, -1), spec.Month, true)
				if score >= 2 {
					vs += w.Unusual
				}
				line.Text[lang] = fmt.Sprintf(w.Move, m.Label.In(lang), text, f.Compact(v, format), vs)
			}
			moves = append(moves, line)
		}
		t, tok := targets.For(m.Name, month)
		tp, tpok := targets.For(m.Name, addMonths(month, -1))
		if tok && tpok {
			met := func(x, target float64) bool {
				if good == "down" {
					return x <= target
				}
				return x >= target
			}
			if was, is := met(pv, tp), met(v, t); was != is {
				line := ChangeLine{Metric: m.Name, Text: map[string]string{}}
				for _, lang := range spec.Languages {
					f := Formatter{Lang: lang, Currency: currency}
					w := changeWords[lang]
					tmpl := w.Missed
					if is {
						tmpl = w.Reached
					}
					line.Text[lang] = fmt.Sprintf(tmpl, m.Label.In(lang), f.Compact(v, format), f.Compact(t, format))
				}
				ch.Crossed = append(ch.Crossed, line)
			}
		}
	}
	sort.SliceStable(moves, func(i, j int) bool { return moves[i].Score > moves[j].Score })
	if len(moves) > MaxMoves {
		moves = moves[:MaxMoves]
	}
	ch.Moves = append(ch.Moves, moves...)
	return ch
}

func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

// view is the summary in one language, as its card shows it.
func (c Changes) view(lang string) summaryView {
	w := changeWords[lang]
	v := summaryView{Moves: []string{}, Crossed: []string{}, MovesTitle: w.Moves, CrossedTitle: w.Crossed}
	for _, l := range c.Moves {
		v.Moves = append(v.Moves, l.Text[lang])
	}
	for _, l := range c.Crossed {
		v.Crossed = append(v.Crossed, l.Text[lang])
	}
	if len(v.Crossed) == 0 {
		v.None = w.NoneCrossed
	}
	return v
}

// changesResult is a summary's rows, for its CSV file: kind (move or
// target), metric, score and the text in each language.
func (c Changes) result() *result {
	r := &result{columns: []string{"kind", "metric", "score", "text_en", "text_zh"},
		types: []string{"VARCHAR", "VARCHAR", "DOUBLE", "VARCHAR", "VARCHAR"}}
	add := func(kind string, l ChangeLine) {
		r.rows = append(r.rows, []cell{{kind: textCell, text: kind}, {kind: textCell, text: l.Metric},
			floatCell(math.Round(l.Score*1000) / 1000), {kind: textCell, text: l.Text["en"]}, {kind: textCell, text: l.Text["zh"]}})
	}
	for _, l := range c.Moves {
		add("move", l)
	}
	for _, l := range c.Crossed {
		add("target", l)
	}
	return r
}

// marshalChanges writes changes.json.
func marshalChanges(c Changes) ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
