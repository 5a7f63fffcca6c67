package secret_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/secret"
)

const pw = `Zq@/Xj#:Vk%?Wy&=Jh '\Qx"`

func TestEveryFormOfASecretIsMasked(t *testing.T) {
	secret.Add(pw)
	b, _ := json.Marshal(pw)
	twice, _ := json.Marshal(string(b))
	for name, text := range map[string]string{
		"as it is":                   "password authentication failed for " + pw,
		"URL query escaping":         "dsn=postgres://u:" + url.QueryEscape(pw) + "@h/db",
		"URL path escaping":          "/" + url.PathEscape(pw) + "/",
		"URL user info":              url.UserPassword("crmwh", pw).String() + "@host",
		"lower-case hex":             regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(pw), strings.ToLower),
		"Go %q":                      fmt.Sprintf("value %q rejected", pw),
		"JSON":                       `{"error":` + string(b) + `}`,
		"JSON in JSON":               `{"steps":` + string(twice) + `}`,
		"libpq quoting":              `password='` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + `'`,
		"SQL literal":                `'` + strings.ReplaceAll(pw, `'`, `''`) + `'`,
		"a parser cut it at @ and #": `cannot parse database=Xj#:Vk%?Wy&=Jh user=Zq host=Xj`,
	} {
		t.Run(name, func(t *testing.T) {
			got := secret.Mask(text)
			require.Contains(t, got, secret.Masked)
			for _, frag := range []string{"Xj#:Vk", "Wy&=Jh", "Zq@/Xj", "Jh '"} {
				require.NotContains(t, got, frag, got)
			}
		})
	}
	require.Equal(t, "nothing to hide", secret.Mask("nothing to hide"))
}

func TestShortValuesAndDigitsAreNotSecretsAndWholeValuesKeepTheirParts(t *testing.T) {
	secret.Add("ab", "", "hunter2/2024/xyz")
	require.Equal(t, "ab cd", secret.Mask("ab cd"), "too short to mask")
	require.Equal(t, "*** and 2024 and *** and ***", secret.Mask("hunter2/2024/xyz and 2024 and hunter2 and 2024/xyz"),
		"pieces of digits are too common to mask on their own")

	secret.AddWhole("https://hooks.example.com/T000/B000/webhooksecret")
	require.Equal(t, "posting to ***: https is fine", secret.Mask("posting to https://hooks.example.com/T000/B000/webhooksecret: https is fine"))
}

func TestAMaskedErrorKeepsItsChain(t *testing.T) {
	secret.Add("s3cr3t-pw")
	err := secret.Error(fmt.Errorf("connecting with s3cr3t-pw: %w", fs.ErrNotExist))
	require.Equal(t, "connecting with ***: file does not exist", err.Error())
	require.ErrorIs(t, err, fs.ErrNotExist)
	var pe *strconv.NumError
	inner := &strconv.NumError{Func: "Atoi", Num: "s3cr3t-pw", Err: strconv.ErrSyntax}
	require.ErrorAs(t, secret.Error(fmt.Errorf("port: %w", inner)), &pe)
	plain := errors.New("nothing secret")
	require.Same(t, plain, secret.Error(plain))
	require.NoError(t, secret.Error(nil))
}

func TestLogsAreMasked(t *testing.T) {
	secret.Add("l0g-Secret")
	var buf bytes.Buffer
	log := slog.New(secret.Handler(slog.NewJSONHandler(&buf, nil))).With("dsn", "password=l0g-Secret")
	log.Info("connecting with l0g-Secret", "err", errors.New("auth l0g-Secret failed"), slog.Group("g", "pw", "l0g-Secret"),
		"list", []string{"l0g-Secret"}, "n", 3)
	require.NotContains(t, buf.String(), "l0g-Secret")
	require.Contains(t, buf.String(), `"msg":"connecting with ***"`)
	require.Contains(t, buf.String(), `"err":"auth *** failed"`)
	require.Contains(t, buf.String(), `"n":3`)
}
