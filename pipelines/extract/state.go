package extract

import (
	"fmt"
	"strings"
	"time"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/secret"
)

// StreamState is what `crmwh state show` prints for one stream.
type StreamState struct {
	Source string `json:"source"`
	Stream string `json:"stream"`
	Kind   string `json:"kind,omitempty"`
	// Configured is false for a stream the lake has but crmwh.yaml no
	// longer names.
	Configured bool                 `json:"configured"`
	Watermark  *pipelines.Watermark `json:"watermark,omitempty"`
	// LookbackRows is how many rows the look-back window remembers.
	LookbackRows int   `json:"lookback_rows,omitempty"`
	Rows         int64 `json:"rows"`
	Quarantined  int64 `json:"quarantined"`
	// NullWatermarkRows is the size of the NULL-watermark snapshot.
	NullWatermarkRows int64           `json:"null_watermark_rows,omitempty"`
	Parts             int             `json:"parts"`
	Files             int             `json:"files_loaded,omitempty"`
	Columns           int             `json:"columns"`
	LastRun           *lake.RunRecord `json:"last_run,omitempty"`
	Reload            *ReloadState    `json:"reload,omitempty"`
	// Warnings are what still holds of the stream's runs' reports (a
	// file changed after it was loaded, an optional file missing).
	Warnings  []lake.Warning `json:"warnings,omitempty"`
	UpdatedAt time.Time      `json:"updated_at,omitempty"`
}

// ReloadState is a full reload asked for or under way.
type ReloadState struct {
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	// Rows loaded by the reload so far (it replaces the stream's rows
	// when it completes).
	Rows int64 `json:"rows_so_far"`
}

// Name is source.stream.
func (s StreamState) Name() string { return s.Source + "." + s.Stream }

// States lists the state of every configured stream (selected by only,
// as for Run) and of every stream the lake holds that is no longer
// configured, sorted by name.
func States(l *lake.Lake, sources []pipelines.SourceConfig, only []string) ([]StreamState, error) {
	ms, err := l.Manifests()
	if err != nil {
		return nil, err
	}
	byName := map[string]*lake.StreamManifest{}
	for _, m := range ms {
		byName[m.Source+"."+m.Stream] = m
	}
	var out []StreamState
	seen := map[string]bool{}
	add := func(kind string, configured bool, source, stream string) {
		name := source + "." + stream
		seen[name] = true
		st := StreamState{Source: source, Stream: stream, Kind: kind, Configured: configured}
		if m := byName[name]; m != nil {
			st.Watermark = m.Watermark
			st.LookbackRows = m.Window.Rows()
			st.Rows, st.Quarantined = m.Rows(), m.QuarantinedRows()
			st.NullWatermarkRows, _ = m.SnapshotRows("null_watermark")
			st.Parts, st.Files, st.Columns = len(m.Parts), len(m.Files), len(m.Schema)
			st.LastRun, st.UpdatedAt = m.LastRun, m.UpdatedAt
			if st.LastRun != nil {
				st.LastRun.Error = secret.Mask(st.LastRun.Error)
			}
			st.Warnings = m.Warnings
			if m.Reload != nil {
				st.Reload = &ReloadState{RequestedBy: m.Reload.RequestedBy, RequestedAt: m.Reload.RequestedAt, Rows: m.Reload.Rows()}
			}
		}
		out = append(out, st)
	}
	matched := false
	for _, src := range sources {
		for _, s := range src.Streams {
			if selected(only, src.Name, s.Name) {
				matched = true
				add(src.Kind, true, src.Name, s.Name)
			}
		}
	}
	for _, m := range ms {
		if !seen[m.Source+"."+m.Stream] && selected(only, m.Source, m.Stream) {
			matched = true
			add("", false, m.Source, m.Stream)
		}
	}
	if len(only) > 0 && !matched {
		return nil, fmt.Errorf("%w: no stream matches %s", ErrNoStream, strings.Join(only, ", "))
	}
	return out, nil
}

// ReloadChange is what RequestReloads did to one stream.
type ReloadChange struct {
	Name string `json:"stream"`
	// Cancelled is the reload that --cancel dropped (nil when none was
	// pending); its rows so far are discarded.
	Cancelled *ReloadState `json:"cancelled,omitempty"`
}

// RequestReloads asks for a full reload of each selected stream (at least
// one must be named), holding the lake's lock; the next extract of each
// stream reloads it from scratch, and its rows replace the stream's only
// when the reload completes. With cancel it drops requested or half-done
// reloads instead, and says which it dropped.
func RequestReloads(l *lake.Lake, sources []pipelines.SourceConfig, only []string, by string, cancel bool) ([]ReloadChange, error) {
	if len(only) == 0 {
		return nil, fmt.Errorf("%w: name the streams to reset (SOURCE or SOURCE.STREAM); nothing is reset by default", ErrNoStream)
	}
	states, err := States(l, sources, only)
	if err != nil {
		return nil, err
	}
	unlock, err := l.Lock(by)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []ReloadChange
	for _, s := range states {
		c := ReloadChange{Name: s.Name()}
		if cancel {
			var r *lake.Reload
			r, err = l.CancelReload(s.Source, s.Stream)
			if r != nil {
				c.Cancelled = &ReloadState{RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt, Rows: r.Rows()}
			}
		} else {
			err = l.RequestReload(s.Source, s.Stream, by)
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}
