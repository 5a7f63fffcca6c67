package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Sandbox says what SQL written by a user (crmwh sql, clv fit --where,
// dashboard charts, data tests) may touch besides the database it runs on.
// Two locks keep it there:
//
//   - DuckDB's own settings (Lockdown): no file outside Dirs and Files
//     (enable_external_access = false with allowed_directories and
//     allowed_paths), no extension installed or loaded, no persistent
//     secret, and the configuration locked so that no SET, RESET or PRAGMA
//     can undo any of it;
//   - the statement check (CheckQuery, CheckExpression): exactly one SELECT
//     statement, so no COPY, EXPORT, ATTACH, INSTALL, LOAD, SET, PRAGMA,
//     CALL, CREATE, INSERT or second statement ever reaches the database.
//     The folders of Dirs can be written as well as read as far as DuckDB is
//     concerned, so this check is what keeps them read-only.
//
// README.md lists the settings and the test that shows each one working.
type Sandbox struct {
	// Dirs are folders the SQL may read, such as the lake.
	Dirs []string
	// Files are single files the SQL may read, such as the transaction log
	// of `crmwh clv fit`, or the temporary Parquet file crmwh itself writes
	// with COPY around a checked query.
	Files []string
}

// ErrNotAllowed is what errors.Is matches when user SQL tries something
// the sandbox refuses before it runs (a statement other than one SELECT).
var ErrNotAllowed = errors.New("not allowed in read-only SQL")

// lockdownSettings are set, in this order, before the lists of allowed
// folders and files and before enable_external_access and
// lock_configuration.
var lockdownSettings = []string{
	"SET GLOBAL autoload_known_extensions = false",
	"SET GLOBAL autoinstall_known_extensions = false",
	"SET GLOBAL allow_community_extensions = false",
	"SET GLOBAL allow_unsigned_extensions = false",
	"SET GLOBAL allow_persistent_secrets = false",
}

// Lockdown applies a sandbox to an open database, for every connection of
// the pool and for good: after it, SQL run on db can read db, the folders
// in s.Dirs and the files in s.Files (and DuckDB's own temporary folder)
// and nothing else, and can change no setting. Paths are made absolute.
// Inside one process DuckDB shares one database per file: locking down a
// database that is already locked down with the same folders and files
// does nothing; with others it is an error.
func Lockdown(ctx context.Context, db *sql.DB, s Sandbox) error {
	dirs, err := absAll(s.Dirs)
	if err != nil {
		return err
	}
	files, err := absAll(s.Files)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("locking the database down: %w", err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, "SELECT CAST(current_setting('lock_configuration') AS BOOLEAN)").Scan(&locked); err != nil {
		return fmt.Errorf("locking the database down: %w", err)
	}
	if locked {
		return sameLockdown(ctx, conn, dirs, files)
	}
	stmts := append([]string(nil), lockdownSettings...)
	stmts = append(stmts,
		"SET GLOBAL allowed_directories = "+stringList(dirs),
		"SET GLOBAL allowed_paths = "+stringList(files),
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL lock_configuration = true",
	)
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("locking the database down (%s): %w", q, err)
		}
	}
	return nil
}

// sameLockdown checks that a database locked down earlier (by this process,
// on the same file) allows what this caller needs.
func sameLockdown(ctx context.Context, conn *sql.Conn, dirs, files []string) error {
	var external bool
	if err := conn.QueryRowContext(ctx, "SELECT CAST(current_setting('enable_external_access') AS BOOLEAN)").Scan(&external); err != nil {
		return fmt.Errorf("locking the database down: %w", err)
	}
	if external {
		return errors.New("locking the database down: its configuration was locked with external access on")
	}
	for _, c := range []struct {
		setting string
		want    []string
		suffix  string
	}{{"allowed_directories", dirs, "/"}, {"allowed_paths", files, ""}} {
		rows, err := conn.QueryContext(ctx, "SELECT unnest(current_setting('"+c.setting+"'))")
		if err != nil {
			return fmt.Errorf("locking the database down: %w", err)
		}
		have := map[string]bool{}
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return fmt.Errorf("locking the database down: %w", err)
			}
			have[strings.TrimSuffix(p, "/")] = true
		}
		rows.Close()
		for _, w := range c.want {
			if !have[strings.TrimSuffix(w, "/")] {
				return fmt.Errorf("locking the database down: it is already locked down without access to %s", w)
			}
		}
	}
	return nil
}

func absAll(paths []string) ([]string, error) {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.Strings(out)
	return out, nil
}

func stringList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = QuoteString(s)
	}
	return "[" + strings.Join(q, ", ") + "]::VARCHAR[]"
}

// OpenSandbox opens a database file read-only and locks it down (see
// Lockdown). The warehouse's raw views read the lake, so s.Dirs normally
// holds the lake folder.
func OpenSandbox(path string, s Sandbox, o Options) (*sql.DB, error) {
	o.ReadOnly = true
	db, err := Open(path, o)
	if err != nil {
		return nil, err
	}
	if err := Lockdown(context.Background(), db, s); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// explainPrefix matches EXPLAIN and EXPLAIN ANALYZE in front of a query.
var explainPrefix = regexp.MustCompile(`(?is)^\s*EXPLAIN(\s+ANALY[SZ]E)?\s`)

// CheckQuery returns nil when q is exactly one SELECT statement (WITH,
// FROM, VALUES, SHOW, DESCRIBE and SUMMARIZE are SELECTs too, and EXPLAIN
// may come in front), parsed by DuckDB's own parser without running
// anything. Anything else wraps ErrNotAllowed, naming what was found; a
// query that does not parse gives DuckDB's message with its line.
func CheckQuery(ctx context.Context, db Querier, q string) error {
	body := q
	if loc := explainPrefix.FindStringIndex(q); loc != nil {
		body = q[loc[1]:]
	}
	root, err := serialize(ctx, db, body)
	if err != nil {
		return err
	}
	if err := parseError(root, body, 0); err != nil {
		return err
	}
	statements, _ := root["statements"].([]any)
	switch n := len(statements); {
	case n == 0:
		return fmt.Errorf("%w: the query is empty", ErrNotAllowed)
	case n > 1:
		return fmt.Errorf("%w: %d statements; only one SELECT query may run at a time", ErrNotAllowed, n)
	}
	return nil
}

// CheckExpression returns nil when expr is one SQL expression (such as a
// WHERE condition): nothing that closes a parenthesis and goes on into
// other clauses, other statements or set operations. Subqueries inside the
// expression are allowed; they run in the sandbox like any query.
func CheckExpression(ctx context.Context, db Querier, expr string) error {
	const prefix = "SELECT (\n"
	parsed := prefix + expr + "\n)"
	root, err := serialize(ctx, db, parsed)
	if err != nil {
		return err
	}
	if err := parseError(root, parsed, len(prefix)); err != nil {
		return err
	}
	statements, _ := root["statements"].([]any)
	if len(statements) != 1 {
		return fmt.Errorf("%w: %q is not one expression", ErrNotAllowed, expr)
	}
	st, _ := statements[0].(map[string]any)
	node, _ := st["node"].(map[string]any)
	from, _ := node["from_table"].(map[string]any)
	list, _ := node["select_list"].([]any)
	ctes, _ := node["cte_map"].(map[string]any)
	cteList, _ := ctes["map"].([]any)
	ok := node["type"] == "SELECT_NODE" && from["type"] == "EMPTY" && len(list) == 1 && len(cteList) == 0 &&
		node["where_clause"] == nil && node["having"] == nil && node["qualify"] == nil && node["sample"] == nil &&
		isEmptyList(node["group_expressions"]) && isEmptyList(node["modifiers"])
	if !ok {
		return fmt.Errorf("%w: %q is not one expression (it reaches outside its parentheses)", ErrNotAllowed, expr)
	}
	return nil
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return v == nil || ok && len(l) == 0
}

// Querier is what the checks need: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// serialize parses q with json_serialize_sql, which runs nothing.
func serialize(ctx context.Context, db Querier, q string) (map[string]any, error) {
	var js string
	if err := db.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)", q).Scan(&js); err != nil {
		return nil, fmt.Errorf("parsing the query: %w", err)
	}
	var root map[string]any
	if err := json.Unmarshal([]byte(js), &root); err != nil {
		return nil, fmt.Errorf("reading the parse tree: %w", err)
	}
	return root, nil
}

// parseError turns the error of a parse tree into an error: a statement
// other than SELECT is not allowed; a syntax error gets the line and
// column of its position in what the user wrote, parsed[offset:].
func parseError(root map[string]any, parsed string, offset int) error {
	if root["error"] != true {
		return nil
	}
	msg, _ := root["error_message"].(string)
	if root["error_type"] == "not implemented" {
		kw := "this statement"
		for _, st := range splitStatements(parsed) {
			if k := strings.ToUpper(FirstKeyword(st)); k != "" && !queryKeywords[k] {
				kw = k
				break
			}
		}
		return fmt.Errorf("%w: %s is not a query; only one SELECT (or WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN) statement may run", ErrNotAllowed, kw)
	}
	if pos, ok := Position(root["position"]); ok {
		line, col := LineColumn(parsed[offset:], pos-offset)
		return fmt.Errorf("%s (line %d, column %d)", msg, line, col)
	}
	return errors.New(msg)
}

// Position reads a parse error's position (a byte offset into the parsed
// text) from json_serialize_sql's output, where it is a string or a number.
func Position(v any) (int, bool) {
	switch p := v.(type) {
	case string:
		var n int
		if _, err := fmt.Sscan(p, &n); err == nil {
			return n, true
		}
	case float64:
		return int(p), true
	}
	return 0, false
}

// LineColumn converts a byte offset into text to a 1-based line and column
// (in characters). Offsets outside text are clamped to it.
func LineColumn(text string, offset int) (line, col int) {
	offset = max(0, min(offset, len(text)))
	before := text[:offset]
	line = strings.Count(before, "\n") + 1
	col = len([]rune(before[strings.LastIndex(before, "\n")+1:])) + 1
	return line, col
}

// FirstKeyword returns the first word of a SQL text, after white space and
// comments.
func FirstKeyword(q string) string {
	for {
		q = strings.TrimSpace(q)
		switch {
		case strings.HasPrefix(q, "--"):
			if i := strings.IndexByte(q, '\n'); i >= 0 {
				q = q[i+1:]
				continue
			}
			return ""
		case strings.HasPrefix(q, "/*"):
			if i := strings.Index(q, "*/"); i >= 0 {
				q = q[i+2:]
				continue
			}
			return ""
		}
		end := strings.IndexFunc(q, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		})
		if end < 0 {
			return q
		}
		return q[:end]
	}
}

// queryKeywords start statements that json_serialize_sql takes as queries.
var queryKeywords = map[string]bool{"SELECT": true, "WITH": true, "FROM": true, "VALUES": true, "SHOW": true,
	"DESCRIBE": true, "SUMMARIZE": true, "TABLE": true}

// splitStatements splits SQL text at semicolons outside quotes and
// comments. It only picks the statement an error message names; DuckDB's
// parser decides what runs.
func splitStatements(q string) []string {
	var out []string
	start := 0
	for i := 0; i < len(q); i++ {
		switch {
		case q[i] == '\'' || q[i] == '"':
			quote := q[i]
			for i++; i < len(q) && q[i] != quote; i++ {
			}
		case strings.HasPrefix(q[i:], "--"):
			for ; i < len(q) && q[i] != '\n'; i++ {
			}
		case strings.HasPrefix(q[i:], "/*"):
			if end := strings.Index(q[i+2:], "*/"); end >= 0 {
				i += end + 3
			} else {
				i = len(q)
			}
		case q[i] == ';':
			out = append(out, q[start:i])
			start = i + 1
		}
	}
	return append(out, q[start:])
}
