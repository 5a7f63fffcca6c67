package assets_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/assets"
)

func TestEmbeddedECharts(t *testing.T) {
	js, err := fs.ReadFile(assets.Site, "echarts.min.js")
	require.NoError(t, err)
	require.Greater(t, len(js), 500_000, "echarts.min.js looks truncated")
	require.Contains(t, string(js), `version="`+assets.EChartsVersion+`"`)
	require.Contains(t, string(js), "Licensed to the Apache Software Foundation")
	// Safe to inline into a <script> element for single-file sites.
	require.NotContains(t, strings.ToLower(string(js)), "</script")
	require.NotContains(t, string(js), "<!--")
}

func TestSiteFiles(t *testing.T) {
	var names []string
	require.NoError(t, fs.WalkDir(assets.Site, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	}))
	require.Equal(t, []string{"crmwh-metrics.js", "crmwh-tables.js", "crmwh.css", "crmwh.js", "echarts.LICENSE", "echarts.NOTICE", "echarts.min.js", "favicon.svg"}, names)
	// Nothing refers to the network.
	for _, n := range []string{"crmwh.css", "crmwh.js", "crmwh-tables.js", "crmwh-metrics.js", "favicon.svg"} {
		b, err := fs.ReadFile(assets.Site, n)
		require.NoError(t, err)
		for _, bad := range []string{"http:", "https:", "//cdn", "@import", "fetch(", "XMLHttpRequest"} {
			if (n == "favicon.svg" || n == "crmwh-metrics.js") && bad == "http:" {
				continue // the SVG namespace is a name, not a request
			}
			require.NotContains(t, string(b), bad, "%s", n)
		}
	}
}
