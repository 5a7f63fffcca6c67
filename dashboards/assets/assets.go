// Package assets holds the files every rendered dashboard site gets in its
// assets/ folder, embedded in the binary so that a site never fetches
// anything from the network: Apache ECharts (echarts.min.js, with its
// licence and notice), the page script crmwh.js that draws the charts,
// crmwh-tables.js (sorting, searching and paging tables), crmwh-metrics.js
// (filters: KPIs computed again in the browser), the style sheet crmwh.css
// and the icon. README.md says how to update ECharts.
package assets

import "embed"

// EChartsVersion is the version of the embedded echarts.min.js.
const EChartsVersion = "5.6.0"

// Site holds the asset files at its root, as they are written to a site's
// assets/ folder.
//
//go:embed echarts.min.js echarts.LICENSE echarts.NOTICE crmwh.js crmwh-tables.js crmwh-metrics.js crmwh.css favicon.svg
var Site embed.FS
