package refresh_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/refresh"
)

// TestMain doubles as a lock holder: with CRMWH_TEST_HOLD_LOCK set, the test
// binary takes that lock, says "locked" and sleeps until it is killed or its
// standard input closes.
func TestMain(m *testing.M) {
	if path := os.Getenv("CRMWH_TEST_HOLD_LOCK"); path != "" {
		l, err := refresh.Acquire(context.Background(), path, "project", 0, refresh.NewHolder("refresh", "run-held", "nightly"))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		_ = l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder is another process holding the lock at path.
type holder struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error }
}

func hold(t *testing.T, path string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CRMWH_TEST_HOLD_LOCK="+path)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)
	return &holder{cmd: cmd, stdin: in}
}

func TestASecondProcessIsToldWhoHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", refresh.LockFile)
	h := hold(t, path)

	held, who, err := refresh.Probe(path)
	require.NoError(t, err)
	require.True(t, held)
	require.Equal(t, h.cmd.Process.Pid, who.PID)

	t0 := time.Now()
	_, err = refresh.Acquire(context.Background(), path, "project", 0, refresh.NewHolder("refresh", "run-2", ""))
	require.ErrorIs(t, err, refresh.ErrLocked)
	require.Less(t, time.Since(t0), time.Second, "no waiting with --wait 0s")
	var le *refresh.LockedError
	require.True(t, errors.As(err, &le))
	require.Equal(t, h.cmd.Process.Pid, le.Holder.PID)
	require.Equal(t, "nightly", le.Holder.Schedule)
	require.Contains(t, err.Error(), fmt.Sprintf("the project lock %s is held by pid %d", path, h.cmd.Process.Pid))
	require.Contains(t, err.Error(), "(crmwh refresh, schedule nightly, run run-held)")

	t0 = time.Now()
	_, err = refresh.Acquire(context.Background(), path, "project", 400*time.Millisecond, refresh.NewHolder("refresh", "run-3", ""))
	require.ErrorIs(t, err, refresh.ErrLocked)
	require.GreaterOrEqual(t, time.Since(t0), 400*time.Millisecond, "it waited as long as told")
	require.Less(t, time.Since(t0), 2*time.Second)
}

func TestAWaiterGetsTheLockWhenTheHolderLetsGo(t *testing.T) {
	path := filepath.Join(t.TempDir(), refresh.LockFile)
	h := hold(t, path)
	go func() {
		time.Sleep(300 * time.Millisecond)
		h.stdin.Close() // the holder releases and exits
	}()
	t0 := time.Now()
	l, err := refresh.Acquire(context.Background(), path, "project", 10*time.Second, refresh.NewHolder("refresh", "run-2", ""))
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(t0), 250*time.Millisecond)
	require.Equal(t, os.Getpid(), refresh.ReadHolder(path).PID)
	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "twice is harmless")
	held, _, err := refresh.Probe(path)
	require.NoError(t, err)
	require.False(t, held)
}

func TestALockHeldByAKilledProcessNeverBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), refresh.LockFile)
	h := hold(t, path)
	require.NoError(t, h.cmd.Process.Signal(syscall.SIGKILL))
	_ = h.cmd.Wait()
	// The killed holder's description is still in the file, but the lock
	// is free.
	require.Equal(t, h.cmd.Process.Pid, refresh.ReadHolder(path).PID)
	held, _, err := refresh.Probe(path)
	require.NoError(t, err)
	require.False(t, held)
	t0 := time.Now()
	l, err := refresh.Acquire(context.Background(), path, "project", 0, refresh.NewHolder("refresh", "run-after-kill", ""))
	require.NoError(t, err)
	require.Less(t, time.Since(t0), 500*time.Millisecond)
	require.Equal(t, "run-after-kill", refresh.ReadHolder(path).RunID)
	require.NoError(t, l.Release())
}

func TestWaitingEndsWithTheContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), refresh.LockFile)
	hold(t, path)
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel(errors.New("terminated signal received")) }()
	_, err := refresh.Acquire(ctx, path, "project", time.Minute, refresh.NewHolder("refresh", "", ""))
	require.EqualError(t, err, "waiting for the project lock: terminated signal received")
}

func TestTwoLocksInOneProcessExcludeEachOther(t *testing.T) {
	path := filepath.Join(t.TempDir(), refresh.LockFile)
	l, err := refresh.Acquire(context.Background(), path, "project", 0, refresh.NewHolder("scheduler", "a", "x"))
	require.NoError(t, err)
	_, err = refresh.Acquire(context.Background(), path, "project", 0, refresh.NewHolder("scheduler", "b", "y"))
	require.ErrorIs(t, err, refresh.ErrLocked)
	require.NoError(t, l.Release())
	l, err = refresh.Acquire(context.Background(), path, "project", 0, refresh.NewHolder("scheduler", "b", "y"))
	require.NoError(t, err)
	require.NoError(t, l.Release())
}
