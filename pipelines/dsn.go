package pipelines

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"

	"crmwh/pipelines/secret"
)

var envRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// safeValue matches values that cannot change the syntax of a URL or a
// key=value connection string wherever they stand.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9._~-]*$`)

// placeholderPrefix starts the stand-ins of unsafe values; the random part
// keeps it from meeting text a user wrote.
var placeholderPrefix = func() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "crmwhenv" + hex.EncodeToString(b) + "x"
}()

// DSN is a connection string whose ${NAME} references have been resolved
// from the environment in a way that cannot break its syntax: a value
// that holds only letters, digits and . _ ~ - is written in place; any
// other value (a password such as "Pa@ss/w0rd#9:x") is written as a
// placeholder of letters and digits, which the driver's parser keeps
// whole, and Fill puts the value back into each parsed field. So a
// password needs no URL encoding or quoting in crmwh.yaml, and no part of
// it can be taken for a host, a port or a database name.
//
// Every value is registered with package secret, so that it is masked in
// all output.
type DSN struct {
	// Text is the connection string to parse, with values or placeholders.
	Text string
	// values maps placeholders to values.
	values map[string]string
	// expanded is the string with every value in place.
	expanded string
}

// ExpandDSN resolves the ${NAME} references of a connection string. A
// variable that is not set is an error naming it (and no value).
//
// A DSN that is nothing but one reference (dsn: ${DATABASE_URL}) is the
// whole connection string, taken as it is.
func ExpandDSN(s string) (DSN, error) {
	d := DSN{values: map[string]string{}}
	if m := envRE.FindStringSubmatch(strings.TrimSpace(s)); m != nil && m[0] == strings.TrimSpace(s) {
		v, ok := os.LookupEnv(m[1])
		if !ok {
			return DSN{}, fmt.Errorf("environment variable %s is not set", m[1])
		}
		secret.AddWhole(v)
		d.Text, d.expanded = v, v
		return d, nil
	}
	var missing []string
	var text, expanded strings.Builder
	last := 0
	for i, m := range envRE.FindAllStringSubmatchIndex(s, -1) {
		text.WriteString(s[last:m[0]])
		expanded.WriteString(s[last:m[0]])
		last = m[1]
		name := s[m[2]:m[3]]
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
			continue
		}
		secret.Add(v)
		expanded.WriteString(v)
		if safeValue.MatchString(v) {
			text.WriteString(v)
			continue
		}
		ph := fmt.Sprintf("%s%dx", placeholderPrefix, i)
		d.values[ph] = v
		text.WriteString(ph)
	}
	text.WriteString(s[last:])
	expanded.WriteString(s[last:])
	if len(missing) > 0 {
		return DSN{}, fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	d.Text, d.expanded = text.String(), expanded.String()
	return d, nil
}

// Fill puts values back in place of the placeholders in a field parsed
// from Text (a password, a user, a database name).
func (d DSN) Fill(field string) string {
	if len(d.values) == 0 || !strings.Contains(field, placeholderPrefix) {
		return field
	}
	for ph, v := range d.values {
		field = strings.ReplaceAll(field, ph, v)
	}
	return field
}

// Expanded is the connection string with every value in place, for
// drivers that take it as it is (a SQLite file path).
func (d DSN) Expanded() string { return d.expanded }

// EnvNames lists the ${NAME} variables a string refers to.
func EnvNames(s string) []string {
	var out []string
	for _, m := range envRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}
