package postgres_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/sources/postgres"
)

// FuzzArrayToJSON checks that any text either fails or becomes valid
// JSON: an array, never a panic.
func FuzzArrayToJSON(f *testing.F) {
	for _, s := range []string{`{1,2,NULL}`, `{"a b","c\"d",NULL,"NULL"}`, `{{1,2},{3,4}}`, `[0:1]={1,2}`, `{}`, `{"\\"}`, `{a,{b}}`, `{"x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []postgres.JSONKind{postgres.JSONString, postgres.JSONNumber, postgres.JSONBool, postgres.JSONRaw} {
			out, err := postgres.ArrayToJSON([]byte(s), kind)
			if err != nil {
				continue
			}
			require.True(t, json.Valid(out), "%q gave %q", s, out)
			var v []any
			require.NoError(t, json.Unmarshal(out, &v), "%q gave %q", s, out)
		}
	})
}
