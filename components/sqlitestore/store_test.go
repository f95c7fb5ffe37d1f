package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/storetest"
)

func openStore(t testing.TB, path string) *Store {
	t.Helper()

	s, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "actors.db"))

	storetest.Run(t, s)
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "actors.db")

	s := openStore(t, path)

	require.NoError(t, s.Ping(context.Background()))
	assert.FileExists(t, path)
	assert.Equal(t, path, s.Path())

	var mode string
	require.NoError(t, s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, path := range []string{"", "x?mode=memory"} {
		_, err := Open(path)
		assert.Error(t, err, "path %q", path)
	}

	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	_, err := Open(filepath.Join(blocker, "actors.db"))
	assert.Error(t, err, "parent is a file")
}

func TestTwoStoresShareAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actors.db")
	a, b := openStore(t, path), openStore(t, path)

	storetest.Upsert(t, a, "k", []byte("from a"))
	storetest.RequireItem(t, b, "k", "from a", "1")

	err := b.Transact(context.Background(), components.Txn{Ops: []components.Op{
		{Key: "k", Value: []byte("from b"), ETag: "1"},
	}})
	require.NoError(t, err)
	storetest.RequireItem(t, a, "k", "from b", "2")

	fence := components.Fence{Key: "fence", Token: 2}
	require.NoError(t, a.Transact(context.Background(), components.Txn{Fence: &fence}))
	fence.Token = 1
	err = b.Transact(context.Background(), components.Txn{Fence: &fence})
	require.ErrorIs(t, err, components.ErrFenced)
}

// TestProcessesShareAFile runs increments from two child processes (this test binary run
// again) and from this one against one file, as sidecars on one machine would.
func TestProcessesShareAFile(t *testing.T) {
	const perProcess = 30

	path := filepath.Join(t.TempDir(), "actors.db")
	s := openStore(t, path)
	storetest.Upsert(t, s, "counter", []byte("0"))

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), helperEnv+"="+path, helperCountEnv+"="+
				strconv.Itoa(perProcess))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Logf("helper %d output:\n%s", i, out)
			}
			errs[i] = err
		})
	}
	wg.Go(func() { errs[2] = incrementN(s, "counter", perProcess) })
	wg.Wait()

	for _, err := range errs {
		require.NoError(t, err)
	}
	storetest.RequireItem(t, s, "counter", strconv.Itoa(3*perProcess),
		strconv.Itoa(3*perProcess+1))
}

const (
	helperEnv      = "TROUPE_SQLITESTORE_HELPER_DB"
	helperCountEnv = "TROUPE_SQLITESTORE_HELPER_COUNT"
)

// TestMain doubles as the child process of TestProcessesShareAFile when helperEnv is set.
func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(runHelper(path))
	}
	os.Exit(m.Run())
}

// runHelper increments the counter in the store at path helperCountEnv times.
func runHelper(path string) int {
	n, err := strconv.Atoi(os.Getenv(helperCountEnv))
	if err == nil {
		var s *Store
		if s, err = Open(path); err == nil {
			err = incrementN(s, "counter", n)
			_ = s.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// incrementN runs storetest.Increment n times.
func incrementN(s components.Store, key string, n int) error {
	for range n {
		if err := storetest.Increment(s, key); err != nil {
			return err
		}
	}
	return nil
}

func TestExpiresReported(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "actors.db"))
	before := time.Now()

	op := components.Op{Key: "k", Value: []byte("v"), TTL: time.Hour}
	require.NoError(t, s.Transact(context.Background(), components.Txn{Ops: []components.Op{op}}))

	item, found, err := s.Get(context.Background(), "k")
	require.NoError(t, err)
	require.True(t, found)
	assert.WithinDuration(t, before.Add(time.Hour), item.Expires, 5*time.Second)
}

func TestExpiredRowsPurged(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "actors.db"))
	op := components.Op{Key: "k", Value: []byte("v"), TTL: time.Millisecond}
	require.NoError(t, s.Transact(ctx, components.Txn{Ops: []components.Op{op}}))
	require.Eventually(t, func() bool {
		_, found, err := s.Get(ctx, "k")
		return err == nil && !found
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1, rowCount(t, s), "an expired row is hidden, not yet deleted")

	s.lastPurge.Store(0)
	storetest.Upsert(t, s, "other", []byte("v"))

	assert.Equal(t, 1, rowCount(t, s), "the purge deleted the expired row")
	storetest.RequireItem(t, s, "other", "v", "1")
}

func rowCount(t *testing.T, s *Store) int {
	t.Helper()

	var n int
	require.NoError(t, s.db.QueryRow(`SELECT count(*) FROM state`).Scan(&n))
	return n
}

func BenchmarkStore(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "actors.db"))

	storetest.Benchmark(b, s)
}
