package lake_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
)

// snapshotRun commits one run's NULL-watermark snapshot of a stream, which
// retires the previous run's.
func snapshotRun(t *testing.T, l *lake.Lake, run string) {
	t.Helper()
	s := l.Sink("crm", "customers", run, time.Now())
	u, err := s.BeginSnapshot("null_watermark", allTypes[:2], "customers")
	require.NoError(t, err)
	require.NoError(t, u.Write([][]any{{int64(1), run}}))
	require.NoError(t, u.Commit(pipelines.StateChange{}))
	require.NoError(t, s.Finish(nil))
}

func TestRetiredPartsLiveWhileSomethingReadsThem(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	snapshotRun(t, l, "run1")
	m, err := l.Manifest("crm", "customers")
	require.NoError(t, err)
	first := m.Snapshots["null_watermark"].Parts[0].Path
	snapshotRun(t, l, "run2")
	m, err = l.Manifest("crm", "customers")
	require.NoError(t, err)
	require.Equal(t, []string{first}, paths(m.Retired))

	// A warehouse still reads run1's snapshot: it stays.
	reads := func() (map[string]bool, error) { return map[string]bool{first: true}, nil }
	rec, err := l.Recover(reads)
	require.NoError(t, err)
	require.Equal(t, lake.Recovery{Kept: 1}, rec)
	require.FileExists(t, filepath.Join(l.Dir, first))

	// The readers cannot tell (a build is under way): everything stays.
	unsure := func() (map[string]bool, error) { return nil, errors.New("a build is under way") }
	rec, err = l.Recover(unsure)
	require.NoError(t, err)
	require.Equal(t, 1, rec.Kept)
	require.EqualError(t, rec.KeptAll, "a build is under way")
	require.FileExists(t, filepath.Join(l.Dir, first))

	// No one reads it any more: deleted, and dropped from the manifest.
	nobody := func() (map[string]bool, error) { return map[string]bool{}, nil }
	rec, err = l.Recover(nobody)
	require.NoError(t, err)
	require.Equal(t, lake.Recovery{Deleted: 1}, rec)
	require.NoFileExists(t, filepath.Join(l.Dir, first))
	m, err = l.Manifest("crm", "customers")
	require.NoError(t, err)
	require.Empty(t, m.Retired)
	require.Equal(t, int64(1), m.Rows(), "run2's snapshot is live")
}

func paths(ps []lake.Part) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	return out
}

func TestASecondWriterIsToldWhoHoldsTheLake(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	unlock, err := l.Lock("extract, run r1")
	require.NoError(t, err)
	other, err := lake.Open(l.Dir)
	require.NoError(t, err)
	_, err = other.Lock("crmwh state reset")
	require.ErrorIs(t, err, lake.ErrLocked)
	host, _ := os.Hostname()
	require.ErrorContains(t, err, fmt.Sprintf("is held by pid %d on %s (extract, run r1) since ", os.Getpid(), host))
	unlock()
	unlock2, err := other.Lock("crmwh state reset")
	require.NoError(t, err, "free again")
	unlock2()
}

// TestHelperLockReadOnlyLake is not a test: run as a child process by an
// unprivileged user, it tries to lock the lake CRMWH_RO_LAKE.
func TestHelperLockReadOnlyLake(t *testing.T) {
	dir := os.Getenv("CRMWH_RO_LAKE")
	if dir == "" {
		return
	}
	l, err := lake.Open(dir)
	if err == nil {
		_, err = l.Lock("extract, run r1")
	}
	fmt.Printf("errors.Is(ErrNotWritable)=%v: %v\n", errors.Is(err, lake.ErrNotWritable), err)
}

func TestAReadOnlyLakeSaysSoNamingTheFolder(t *testing.T) {
	dir := t.TempDir()
	l, err := lake.Open(dir)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLockReadOnlyLake$")
	cmd.Env = append(os.Environ(), "CRMWH_RO_LAKE="+l.Dir)
	// Permissions do not stop root: run the child as nobody then.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		require.NoError(t, err)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
		require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
		require.NoError(t, os.Chmod(os.Args[0], 0o755))
		require.NoError(t, chmodParents(os.Args[0]))
	}
	require.NoError(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chmod(p, 0o555)
	}))
	t.Cleanup(func() { filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chmod(p, 0o755) }) })
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "errors.Is(ErrNotWritable)=true: the lake folder is not writable: "+l.Dir+": ")
	require.Contains(t, string(out), "permission denied")
}

// chmodParents lets other users through the folders above path.
func chmodParents(path string) error {
	for d := filepath.Dir(path); d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}
