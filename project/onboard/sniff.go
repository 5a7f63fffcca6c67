package onboard

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"crmwh/pipelines"
	"crmwh/pipelines/textvalue"
)

// Limits of what is read to propose a project.
const (
	// sniffBytes is how much of a CSV file is read to find its format and
	// its columns' types.
	sniffBytes = 32 << 20
	// sampleRows is how many rows of an input are read through its source
	// to check the proposal.
	sampleRows = 200_000
)

// csvFormat is what sniffing found out about a CSV file.
type csvFormat struct {
	// Encoding is "" (UTF-8, with or without BOM) or "gb18030".
	Encoding string
	// Delimiter is "" (comma), "tab", ";", "|" or "whitespace".
	Delimiter string
	Header    []string
	// Types holds each column's type and format, as the csv source reads
	// them (checked with its parsers on every value read).
	Types []columnType
	// Rows is the number of data rows read; Complete is true when that is
	// the whole file.
	Rows     int
	Complete bool
	// Malformed counts records with another number of fields than the
	// header, or broken quoting (the csv source quarantines them).
	Malformed int
	// LocalTimes is true when a timestamp column has no UTC offset (read
	// in the stream's time zone).
	LocalTimes bool
}

// columnType is a proposed column type.
type columnType struct {
	Type   string // as in crmwh.yaml: string, int64, decimal(18,2), …
	Format string // of dates and timestamps, Go layouts
	// Note explains a choice in the written config.
	Note string
}

// sniffCSV reads the start of a stream's CSV files (up to sniffBytes and
// sampleRows rows, over as many files as that takes) and works out their
// encoding, delimiter, header and column types.
func sniffCSV(paths []string, loc *time.Location) (*csvFormat, error) {
	cf := &csvFormat{Complete: true}
	var rows [][]string
	budget := sniffBytes
	for i, path := range paths {
		if budget <= 0 || len(rows) >= sampleRows {
			cf.Complete = false
			break
		}
		data, whole, err := readStart(path, budget)
		if err != nil {
			return nil, err
		}
		budget -= len(data)
		cf.Complete = cf.Complete && whole
		data = bytes.TrimPrefix(data, []byte("\ufeff"))
		text, enc, err := decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if i == 0 {
			cf.Encoding = enc
			if strings.TrimSpace(text) == "" {
				return nil, fmt.Errorf("%s is empty: it needs a header line and rows", path)
			}
			if cf.Delimiter, err = sniffDelimiter(text); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		} else if enc != cf.Encoding {
			return nil, fmt.Errorf("%s is in another encoding than %s; give files of one encoding", path, paths[0])
		}
		records, malformed := readRecords(text, cf.Delimiter, sampleRows+1-len(rows))
		cf.Malformed += malformed
		if len(records) == 0 {
			continue
		}
		header := records[0]
		for j, h := range header {
			header[j] = strings.TrimSpace(h)
		}
		if i == 0 {
			cf.Header = header
		} else if strings.Join(header, "\x00") != strings.Join(cf.Header, "\x00") {
			return nil, fmt.Errorf("%s has other columns than %s (%s, not %s); give files of one layout", path, paths[0], strings.Join(header, ", "), strings.Join(cf.Header, ", "))
		}
		for _, r := range records[1:] {
			if len(r) != len(cf.Header) {
				cf.Malformed++
				continue
			}
			rows = append(rows, r)
		}
	}
	if len(cf.Header) == 0 {
		return nil, fmt.Errorf("%s has no readable line", paths[0])
	}
	if len(rows) >= sampleRows {
		cf.Complete = false
	}
	cf.Rows = len(rows)
	cols := make([][]string, len(cf.Header))
	for _, r := range rows {
		for j, v := range r {
			if v = strings.TrimSpace(v); v != "" {
				cols[j] = append(cols[j], v)
			}
		}
	}
	cf.Types = make([]columnType, len(cf.Header))
	for j := range cf.Header {
		cf.Types[j] = inferType(cf.Header[j], cols[j], loc)
		if cf.Types[j].Type == "timestamp" && !hasOffset(cf.Types[j].Format, cols[j]) {
			cf.LocalTimes = true
		}
	}
	if looksLikeData(cf.Header, cf.Types, loc) {
		return nil, fmt.Errorf("%s: the first line (%s) looks like data, not a header; crmwh reads the first line of a CSV file as the column names: add a header line", paths[0], strings.Join(cf.Header, ", "))
	}
	return cf, nil
}

// readStart reads up to limit bytes of a file, cut at the end of a line,
// and says whether that is the whole file.
func readStart(path string, limit int) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) <= limit {
		return data, true, nil
	}
	data = data[:limit]
	if i := bytes.LastIndexByte(data, '\n'); i > 0 {
		data = data[:i+1]
	}
	return data, false, nil
}

// decode returns the text of data and its encoding: UTF-8 (""), else
// GB18030 when that decodes every byte.
func decode(data []byte) (string, string, error) {
	if utf8.Valid(data) {
		return string(data), "", nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err == nil && !bytes.ContainsRune(out, utf8.RuneError) {
		return string(out), "gb18030", nil
	}
	return "", "", errors.New("the text is neither UTF-8 nor GB18030; convert it to UTF-8 (iconv -f ENCODING -t UTF-8)")
}

// sniffDelimiter picks the delimiter that splits the first lines into the
// same number (two or more) of fields: comma, tab, semicolon or pipe, else
// runs of blanks.
func sniffDelimiter(text string) (string, error) {
	best, bestScore := "", 0.0
	for _, d := range []string{"", "tab", ";", "|"} {
		recs, _ := readRecords(text, d, 200)
		if len(recs) == 0 || len(recs[0]) < 2 {
			continue
		}
		same := 0
		for _, r := range recs {
			if len(r) == len(recs[0]) {
				same++
			}
		}
		share := float64(same) / float64(len(recs))
		if share >= 0.9 && share > bestScore {
			best, bestScore = d, share
		}
	}
	if bestScore > 0 {
		return best, nil
	}
	recs, _ := readRecords(text, "whitespace", 200)
	if len(recs) > 0 && len(recs[0]) >= 2 {
		same := 0
		for _, r := range recs {
			if len(r) == len(recs[0]) {
				same++
			}
		}
		if float64(same)/float64(len(recs)) >= 0.9 {
			return "whitespace", nil
		}
	}
	return "", errors.New("cannot tell how the fields are separated (tried comma, tab, semicolon, pipe and blanks): each line should have as many fields as the header")
}

// readRecords splits text into up to max records as the csv source does:
// RFC 4180 with the delimiter, or fields separated by blanks. Records that
// are malformed are counted and left out.
func readRecords(text, delim string, max int) ([][]string, int) {
	var out [][]string
	malformed := 0
	if delim == "whitespace" {
		for _, line := range strings.Split(text, "\n") {
			if len(out) >= max {
				break
			}
			if f := strings.Fields(line); len(f) > 0 {
				out = append(out, f)
			}
		}
		return out, 0
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	switch delim {
	case "":
		r.Comma = ','
	case "tab":
		r.Comma = '\t'
	default:
		r.Comma = rune(delim[0])
	}
	for len(out) < max {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				malformed++
				continue
			}
			break
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		out = append(out, rec)
	}
	return out, malformed
}

var (
	intRE      = regexp.MustCompile(`^[-+]?(\d+|\d{1,3}(,\d{3})+)$`)
	floatIntRE = regexp.MustCompile(`^[-+]?\d+\.0+$`)
	decimalRE  = regexp.MustCompile(`^[-+]?(\d+|\d{1,3}(,\d{3})+)?\.(\d+)$`)
	eightDigit = regexp.MustCompile(`^(19|20)\d{6}$`)
)

// Date and timestamp layouts tried, in order (Go layouts; one-digit month,
// day and hour layouts also read two digits).
var (
	dateLayouts = []string{
		"2006-01-02", "2006/1/2", "2006-1-2", "2006.1.2", "20060102",
		"1/2/2006", "2/1/2006", "2.1.2006", "2-1-2006", "1/2/06", "2/1/06",
		"2006年1月2日", "Jan 2, 2006", "2 Jan 2006", "02-Jan-2006", "2-Jan-06",
	}
	timestampLayouts = []string{
		"", // the csv source's defaults: RFC 3339, 2006-01-02 15:04:05 with or without an offset
		"2006/1/2 15:04:05", "2006/1/2 15:04", "2006-1-2 15:04:05", "2006-1-2 15:04",
		"1/2/2006 15:04:05", "1/2/2006 15:04", "2/1/2006 15:04:05", "2/1/2006 15:04",
		"1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM", "2.1.2006 15:04:05", "2.1.2006 15:04",
		"2006年1月2日 15:04:05", "2006年1月2日 15:04", "2006-01-02T15:04", "20060102 15:04:05", "20060102150405",
	}
)

// inferType proposes the type of a column from its non-empty values: the
// first of int64, decimal, float64, bool, date and timestamp (each with a
// layout) that the csv source's own parser reads the values as, else
// string. Real exports hold a little dirt: a type is taken when no more
// than one value in 200 fails it (those rows go to quarantine, and the
// note says so). Ids keep their text (leading zeros, letters added
// later); integral floats such as 17850.0 stay float64, which the contract
// turns into integer ids.
func inferType(header string, values []string, loc *time.Location) columnType {
	if len(values) == 0 {
		return columnType{Type: "string", Note: "empty in the rows read"}
	}
	allowed := len(values) / 200
	// most reports whether the values (but a few) match one of the
	// patterns.
	most := func(res ...*regexp.Regexp) bool {
		bad := 0
		for _, v := range values {
			ok := false
			for _, re := range res {
				ok = ok || re.MatchString(v)
			}
			if !ok {
				bad++
			}
		}
		return bad <= allowed
	}
	// parses returns whether the csv source's parser reads the values (but
	// a few) as the type, and a note on the ones it does not.
	parses := func(typ, format string) (bool, string) {
		col, err := pipelines.ParseType(typ)
		if err != nil {
			return false, ""
		}
		p, err := textvalue.NewParser(col, format, loc)
		if err != nil {
			return false, ""
		}
		bad := 0
		example := ""
		for _, v := range values {
			if _, err := p.Parse(v); err != nil {
				if bad++; bad > allowed {
					return false, ""
				}
				if example == "" {
					example = v
				}
			}
		}
		if bad == 0 {
			return true, ""
		}
		return true, fmt.Sprintf("%d value(s) of the rows read are not %s (e.g. %q): those rows go to quarantine", bad, typ, example)
	}
	try := func(typ, format string) (columnType, bool) {
		ok, note := parses(typ, format)
		return columnType{Type: typ, Format: format, Note: note}, ok
	}
	id := isIDHeader(header)
	if most(eightDigit) && !id {
		if ct, ok := try("date", "20060102"); ok {
			return ct
		}
	}
	if most(intRE) {
		lead := false
		for _, v := range values {
			d := strings.TrimLeft(v, "+-")
			if len(d) > 1 && d[0] == '0' && intRE.MatchString(v) {
				lead = true
				break
			}
		}
		switch {
		case id:
			return columnType{Type: "string"}
		case lead:
			return columnType{Type: "string", Note: "numbers with leading zeros: kept as text"}
		}
		if ct, ok := try("int64", ""); ok {
			return ct
		}
	}
	if most(floatIntRE, intRE) {
		if ct, ok := try("float64", ""); ok {
			return ct
		}
	}
	if most(decimalRE, intRE) {
		scale := 0
		for _, v := range values {
			if m := decimalRE.FindStringSubmatch(v); m != nil && len(m[3]) > scale {
				scale = len(m[3])
			}
		}
		scale = max(scale, 2)
		if scale <= 9 {
			for _, p := range []int{18, 38} {
				if ct, ok := try(fmt.Sprintf("decimal(%d,%d)", p, scale), ""); ok {
					return ct
				}
			}
		}
		if ct, ok := try("float64", ""); ok {
			return ct
		}
	}
	if ct, ok := try("bool", ""); ok {
		return ct
	}
	for _, l := range dateLayouts {
		if ct, ok := try("date", l); ok {
			if alt := swapDayMonth(l); alt != "" {
				if ok, _ := parses("date", alt); ok {
					ct.Note = strings.TrimPrefix(ct.Note+"; ", "; ") + fmt.Sprintf("day and month are 12 or less in every row read: if days come first, use format %q", alt)
				}
			}
			if l == "2006-01-02" {
				ct.Format = ""
			}
			return ct
		}
	}
	for _, l := range timestampLayouts {
		if ct, ok := try("timestamp", l); ok {
			if alt := swapDayMonth(l); alt != "" {
				if ok, _ := parses("timestamp", alt); ok {
					ct.Note = strings.TrimPrefix(ct.Note+"; ", "; ") + fmt.Sprintf("day and month are 12 or less in every row read: if days come first, use format %q", alt)
				}
			}
			return ct
		}
	}
	return columnType{Type: "string"}
}

// swapDayMonth returns the layout with day and month the other way
// round, for layouts where both orders exist.
func swapDayMonth(l string) string {
	switch {
	case strings.HasPrefix(l, "1/2/"):
		return "2/1/" + l[4:]
	case strings.HasPrefix(l, "2/1/"):
		return "1/2/" + l[4:]
	}
	return ""
}

// hasOffset reports whether timestamps carry their UTC offset (else the
// stream's time zone applies): no value reads as a time without one.
func hasOffset(format string, values []string) bool {
	if format != "" {
		return strings.Contains(format, "Z07") || strings.Contains(format, "-07")
	}
	for _, v := range values {
		for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
			if _, err := time.Parse(l, v); err == nil {
				return false
			}
		}
	}
	return true
}

// looksLikeData reports whether a header line is rather a row: every
// field reads as its column's type, and some column is not text.
func looksLikeData(header []string, types []columnType, loc *time.Location) bool {
	typed := false
	for j, h := range header {
		t := types[j]
		if t.Type == "string" {
			continue
		}
		typed = true
		col, err := pipelines.ParseType(t.Type)
		if err != nil {
			return false
		}
		p, err := textvalue.NewParser(col, t.Format, loc)
		if err != nil {
			return false
		}
		if v, err := p.Parse(h); err != nil || v == nil {
			return false
		}
	}
	return typed
}

// quoteYAML writes a string as a YAML scalar: plain when it is safe,
// double-quoted otherwise.
func quoteYAML(s string) string {
	if plainYAML.MatchString(s) && !yamlSpecial[strings.ToLower(s)] {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return s
		}
	}
	if strings.Contains(s, `"`) && !strings.ContainsAny(s, "'\n\t") {
		return "'" + s + "'"
	}
	return strconv.Quote(s)
}

var (
	plainYAML   = regexp.MustCompile(`^[\p{L}_./][\p{L}\p{N}_./()-]*$`)
	yamlSpecial = map[string]bool{"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true, "null": true, "y": true, "n": true, "~": true}
)
