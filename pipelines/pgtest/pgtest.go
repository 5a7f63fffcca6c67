// Package pgtest starts throwaway PostgreSQL servers for tests and
// benchmarks, from the system's own server binaries (Debian's
// postgresql-NN package: /usr/lib/postgresql/NN/bin). Each server is a new
// cluster in a temporary folder, listening only on a Unix socket in that
// folder, with password authentication, fsync off, and no service or
// system cluster involved. `make test` installs the package when missing.
//
// PostgreSQL refuses to run as root; when the caller is root the cluster is
// initialised and run as the unprivileged "postgres" user (created by the
// Debian package) or, failing that, "nobody".
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// User is the superuser of every test cluster.
const User = "crmwh"

// ErrNoServer means the PostgreSQL server binaries are not installed.
var ErrNoServer = errors.New("PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin; run `make test`, which installs Debian's postgresql package, or set CRMWH_PG_BIN")

// FindBin returns the folder holding initdb and postgres: $CRMWH_PG_BIN if
// set, else the newest /usr/lib/postgresql/NN/bin.
func FindBin() (string, error) {
	if d := os.Getenv("CRMWH_PG_BIN"); d != "" {
		if ok(d) {
			return d, nil
		}
		return "", fmt.Errorf("CRMWH_PG_BIN=%s holds no initdb and postgres: %w", d, ErrNoServer)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if ok(d) {
			return d, nil
		}
	}
	return "", ErrNoServer
}

func ok(dir string) bool {
	for _, b := range []string{"initdb", "postgres"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Server is a running throwaway cluster.
type Server struct {
	// Bin is the folder of the server binaries (psql is there too).
	Bin string
	// Dir holds the cluster (Dir/data), its log and its socket.
	Dir      string
	Port     int
	Password string
	args     []string
	cred     *syscall.Credential
	cmd      *exec.Cmd
	done     chan struct{} // closed when the postmaster has exited
	stopOnce sync.Once
	stopErr  error
}

// Options tune a server.
type Options struct {
	// Settings are extra postgres -c settings (name → value).
	Settings map[string]string
}

// StartServer initialises a new cluster in a temporary folder and starts
// it. Stop it with Stop.
func StartServer(o Options) (*Server, error) {
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "crmwh-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Bin: bin, Dir: dir, Port: 5432}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	cred, err := runAs(dir)
	if err != nil {
		return nil, err
	}
	pw := make([]byte, 12)
	_, _ = rand.Read(pw)
	s.Password = hex.EncodeToString(pw)
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", User,
		"--pwfile="+pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	os.Remove(pwfile)

	args := []string{"-D", filepath.Join(dir, "data"), "-k", dir, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=40", "-c", "shared_buffers=128MB",
		"-c", "unix_socket_permissions=0777", "-c", "logging_collector=off"}
	keys := make([]string, 0, len(o.Settings))
	for k := range o.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+o.Settings[k])
	}
	s.args, s.cred = args, cred
	if err := s.start(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// start starts the postmaster on the cluster and waits until it accepts
// connections.
func (s *Server) start() error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	s.cmd = exec.Command(filepath.Join(s.Bin, "postgres"), s.args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Dir = s.Dir
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	done := make(chan struct{})
	s.done = done
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.Stop()
		return err
	}
	return nil
}

// Restart shuts the server down (fast shutdown: sessions are ended, as
// when an administrator restarts it), waits down for a moment and starts
// it again on the same cluster, socket and port, waiting until it accepts
// connections again.
func (s *Server) Restart(down time.Duration) error {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("postgres did not shut down within 30s: %s", s.LogTail())
	}
	time.Sleep(down)
	return s.start()
}

// Terminate ends the sessions of an application (pg_terminate_backend, as
// an administrator or a connection killer would) and returns how many.
func (s *Server) Terminate(ctx context.Context, application string) (int, error) {
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	var n int
	err = c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()`, application).Scan(&n)
	return n, err
}

// runAs makes dir usable by the unprivileged user the server runs as when
// the caller is root, and returns that user's credential (nil when the
// caller is not root).
func runAs(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root, and no unprivileged user (postgres or nobody) to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited while starting (%v): %s", s.cmd.ProcessState, s.LogTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			c.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("postgres did not accept connections within %s: %v: %s", limit, last, s.LogTail())
}

// LogTail returns the end of the server's log.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "postgres.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Stop shuts the server down (fast shutdown, then a kill after 10 s) and
// removes its folder. Calling it again does nothing.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		defer os.RemoveAll(s.Dir)
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
			s.stopErr = fmt.Errorf("postgres did not stop within 10s; killed it")
		}
	})
	return s.stopErr
}

// DSN is a libpq key=value connection string for a database, password
// included.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable", s.Dir, s.Port, User, s.Password, db)
}

// DSNWithPassword is DSN with the password given as text such as
// "${PGPASSWORD}", as a project's crmwh.yaml would write it.
func (s *Server) DSNWithPassword(db, password string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable", s.Dir, s.Port, User, password, db)
}

// Exec runs statements on a database.
func (s *Server) Exec(ctx context.Context, db string, sql ...string) error {
	c, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, q := range sql {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", firstLine(q), err)
		}
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	return s
}

// CreateDatabase creates a database.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	return s.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// Start starts a server for a test and stops it when the test ends. A
// machine without the server binaries fails the test, saying to run
// `make test`.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartServer(Options{})
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping PostgreSQL: %v", err)
		}
	})
	return s
}

var dbSeq int

// NewDatabase creates a new empty database on the server and returns its
// name and a connection to it, closed when the test ends.
func (s *Server) NewDatabase(t testing.TB) (string, *pgx.Conn) {
	t.Helper()
	dbSeq++
	name := fmt.Sprintf("t%d_%d", time.Now().UnixNano()%1e9, dbSeq)
	ctx := context.Background()
	if err := s.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	c, err := pgx.Connect(ctx, s.DSN(name))
	if err != nil {
		t.Fatalf("connecting to %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return name, c
}
