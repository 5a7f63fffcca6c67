//go:build !unix

package refresh

import (
	"errors"
	"os"
)

var errNoFlock = errors.New("file locks need a Unix system (flock)")

func tryLock(f *os.File, exclusive bool) (bool, error) { return false, errNoFlock }

func unlock(f *os.File) error { return errNoFlock }
