package contract_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/contract"
)

var update = flag.Bool("update", false, "rewrite the entity reference in docs/your-data.md")

const (
	refStart = "<!-- entity reference: generated from warehouse/contract/catalog.go -->\n"
	refEnd   = "<!-- end of the entity reference -->\n"
)

// docs/your-data.md documents every entity and field of the catalog, as
// the catalog has them.
func TestYourDataDocumentsTheCatalog(t *testing.T) {
	const file = "../../docs/your-data.md"
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	doc := string(b)
	i, j := strings.Index(doc, refStart), strings.Index(doc, refEnd)
	require.True(t, i >= 0 && j > i, "docs/your-data.md lacks the markers of the entity reference")
	want := contract.Reference()
	if *update {
		doc = doc[:i+len(refStart)] + "\n" + want + doc[j:]
		require.NoError(t, os.WriteFile(file, []byte(doc), 0o644))
		return
	}
	require.Equal(t, want, strings.TrimPrefix(doc[i+len(refStart):j], "\n"),
		"docs/your-data.md is behind warehouse/contract/catalog.go: run go test ./warehouse/contract -run TestYourDataDocumentsTheCatalog -update")
}
