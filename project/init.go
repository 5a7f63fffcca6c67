package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// WriteDefault writes the embedded default project (crmwh.yaml, sql/,
// dashboards/, schedules/) into dir, creating it. Existing files are left
// alone and reported as an error unless force is set, so a project is
// never overwritten by accident.
func WriteDefault(dir string, force bool) ([]string, error) {
	return Write(dir, WriteOptions{Force: force})
}

// WriteOptions change what Write writes.
type WriteOptions struct {
	// Force overwrites files that exist.
	Force bool
	// Files replace or add files (by slash-separated path, such as
	// crmwh.yaml or schedules/nightly.yaml).
	Files map[string][]byte
	// Omit leaves files of the default project out.
	Omit []string
}

// Write writes the embedded default project into dir, with the files of
// o.Files in place of (or besides) its own and without o.Omit. Like
// WriteDefault it writes nothing when a file exists, unless o.Force.
func Write(dir string, o WriteOptions) ([]string, error) {
	src := Default()
	files := map[string][]byte{}
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src, p)
		files[p] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, p := range o.Omit {
		delete(files, p)
	}
	for p, b := range o.Files {
		files[path.Clean(p)] = b
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	var existing []string
	for _, p := range names {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err == nil && !o.Force {
			existing = append(existing, p)
		}
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("%w: %s already holds %d of the project's files (first: %s); use --force to overwrite them",
			ErrConfig, dir, len(existing), existing[0])
	}
	var written []string
	for _, p := range names {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return written, fmt.Errorf("writing the project: %w", err)
		}
		if err := os.WriteFile(dst, files[p], 0o644); err != nil && !errors.Is(err, fs.ErrExist) {
			return written, fmt.Errorf("writing the project: %w", err)
		}
		written = append(written, p)
	}
	return written, nil
}
