// Package crmwh embeds the default project: this repository's crmwh.yaml,
// sql/ models, dashboards/*.yaml pages and schedules/*.yaml, so that every
// command works with no project folder and `crmwh init` can write one out.
package crmwh

import "embed"

// DefaultProject holds the default project's files at their repository paths.
//
//go:embed crmwh.yaml sql dashboards/*.yaml schedules/*.yaml
var DefaultProject embed.FS
