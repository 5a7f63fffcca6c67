package project_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	_ "crmwh/pipelines/sources/all"
	"crmwh/project"
)

// Every testdata/*.bad.yml fails with exactly the problems in its .bad.err
// file; every *.good.yml loads.
func TestConfigFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			_, err = project.ParseConfig("crmwh.yaml", data)
			if strings.HasSuffix(f, ".good.yml") {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, project.ErrConfig))
			want, rerr := os.ReadFile(strings.TrimSuffix(f, ".yml") + ".err")
			require.NoError(t, rerr)
			require.Equal(t, strings.TrimSpace(string(want)), err.Error())
		})
	}
}

func TestTheEmbeddedDefaultProjectIsValid(t *testing.T) {
	t.Chdir(t.TempDir())
	p, err := project.Load("")
	require.NoError(t, err)
	require.True(t, p.Embedded)
	require.Equal(t, "demo", p.Config.Name)
	require.NotEmpty(t, p.Config.Sources)
	cwd, _ := os.Getwd()
	require.Equal(t, filepath.Join(cwd, "data/crmwh.duckdb"), p.WarehouseFile())
}

func TestInitWritesTheDefaultProjectAndNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "myco")
	files, err := project.WriteDefault(dir, false)
	require.NoError(t, err)
	require.Contains(t, files, "crmwh.yaml")
	require.Contains(t, files, "sql/marts/mart_kpi_monthly.sql")
	p, err := project.Load(dir)
	require.NoError(t, err)
	require.False(t, p.Embedded)
	require.Equal(t, dir, p.Dir)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte("name: mine\n"), 0o644))
	_, err = project.WriteDefault(dir, false)
	require.ErrorContains(t, err, "already holds")
	b, _ := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.Equal(t, "name: mine\n", string(b))
}

func TestAnExplicitFolderWithoutConfigIsAnError(t *testing.T) {
	_, err := project.Load(t.TempDir())
	require.ErrorIs(t, err, project.ErrConfig)
	require.ErrorContains(t, err, "has no crmwh.yaml")
}

// TestCLVSwitch reads analytics.clv: on by default, off when written
// (YAML's off is a plain word here, not a boolean).
func TestCLVSwitch(t *testing.T) {
	cfg, err := project.ParseConfig("crmwh.yaml", []byte("name: acme\n"))
	require.NoError(t, err)
	require.Equal(t, "on", cfg.Analytics.CLV)
	cfg, err = project.ParseConfig("crmwh.yaml", []byte("name: acme\nanalytics:\n  clv: off\n"))
	require.NoError(t, err)
	require.Equal(t, "off", cfg.Analytics.CLV)
}
