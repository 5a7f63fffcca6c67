package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteDefault writes the embedded default project (crmwh.yaml, sql/,
// dashboards/, schedules/) into dir, creating it. Existing files are left
// alone and reported as an error unless force is set, so a project is
// never overwritten by accident.
func WriteDefault(dir string, force bool) ([]string, error) {
	src := Default()
	var written, existing []string
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if _, err := os.Stat(dst); err == nil && !force {
			existing = append(existing, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("%w: %s already holds %d of the project's files (first: %s); use --force to overwrite them",
			ErrConfig, dir, len(existing), existing[0])
	}
	err = fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return written, fmt.Errorf("writing the project: %w", err)
	}
	return written, nil
}
