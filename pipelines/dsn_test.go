package pipelines_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/secret"
)

func TestExpandDSNKeepsEveryValueWhole(t *testing.T) {
	const pw = `Pa@ss/w0rd#Qz9:x%?&= '\`
	t.Setenv("T_PW", pw)
	t.Setenv("T_HOST", "db.internal")
	t.Setenv("T_DSN", "postgres://u:p%40ss@h/db")

	d, err := pipelines.ExpandDSN("postgres://crmwh:${T_PW}@${T_HOST}:5432/crm?sslmode=require")
	require.NoError(t, err)
	require.NotContains(t, d.Text, "Pa@ss", "a value with syntax in it is a placeholder in the text to parse")
	require.Contains(t, d.Text, "@db.internal:5432/crm", "a value without any is written in place")
	require.Regexp(t, `^postgres://crmwh:[a-z0-9]+@db\.internal:5432/crm\?sslmode=require$`, d.Text)
	ph := d.Text[len("postgres://crmwh:") : len(d.Text)-len("@db.internal:5432/crm?sslmode=require")]
	require.Equal(t, pw, d.Fill(ph), "Fill puts the value back into a parsed field")
	require.Equal(t, "x"+pw+"y", d.Fill("x"+ph+"y"))
	require.Equal(t, "postgres://crmwh:"+pw+"@db.internal:5432/crm?sslmode=require", d.Expanded())
	require.Equal(t, "connecting with ***", secret.Mask("connecting with "+pw), "the value is a secret from now on")

	whole, err := pipelines.ExpandDSN(" ${T_DSN} ")
	require.NoError(t, err)
	require.Equal(t, "postgres://u:p%40ss@h/db", whole.Text, "a DSN that is only a reference is the connection string")

	_, err = pipelines.ExpandDSN("host=x password=${T_NOT_SET} user=${T_NOR_THIS}")
	require.EqualError(t, err, "environment variable T_NOT_SET, T_NOR_THIS is not set")
}
