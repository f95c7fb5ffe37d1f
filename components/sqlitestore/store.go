// Package sqlitestore is the embedded actor state store: one SQLite file, written through
// the pure-Go modernc.org/sqlite driver, that needs no server and that several sidecar
// processes on one machine can share. It keeps the semantics of redisstore: decimal
// versions as ETags that start at 1, per-key TTLs and fencing tokens.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/troupe-dev/troupe/components"
)

const (
	// busyTimeout is how long a writer waits for another connection or process holding
	// the write lock before Transact fails.
	busyTimeout = 5 * time.Second

	// purgeInterval is how often a Transact also deletes expired rows; between purges
	// expired rows are only hidden.
	purgeInterval = time.Minute

	// purgeBatch bounds the rows one purge deletes, so a purge never makes a write slow.
	purgeBatch = 500
)

// schema creates the tables. Times are Unix milliseconds; expires_at is NULL for no TTL.
// Fence tokens are uint64, beyond SQLite's signed integers, so they are kept as text and
// compared in Go.
const schema = `
CREATE TABLE IF NOT EXISTS state (
	key        TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	version    INTEGER NOT NULL,
	expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS state_expires_at ON state (expires_at)
	WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS fences (
	key   TEXT PRIMARY KEY,
	token TEXT NOT NULL
) WITHOUT ROWID;
`

// The statements a Store prepares once. Times are Unix milliseconds.
const (
	getQuery = `SELECT value, version, expires_at FROM state
		WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`
	versionQuery = `SELECT version FROM state
		WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`
	upsertQuery = `INSERT INTO state (key, value, version, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value,
			version = excluded.version, expires_at = excluded.expires_at`
	deleteQuery     = `DELETE FROM state WHERE key = ?`
	fenceQuery      = `SELECT token FROM fences WHERE key = ?`
	raiseFenceQuery = `INSERT INTO fences (key, token) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET token = excluded.token`
	purgeQuery = `DELETE FROM state WHERE key IN (
		SELECT key FROM state WHERE expires_at <= ? LIMIT ?)`
)

// statements are the prepared forms of the queries above. Compiling a statement costs
// more than running it, so every call reuses these.
type statements struct {
	get, version, upsert, delete, fence, raiseFence, purge *sql.Stmt
}

// prepare compiles every statement on db.
func prepare(db *sql.DB) (*statements, error) {
	var (
		st  statements
		err error
	)
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&st.get, getQuery},
		{&st.version, versionQuery},
		{&st.upsert, upsertQuery},
		{&st.delete, deleteQuery},
		{&st.fence, fenceQuery},
		{&st.raiseFence, raiseFenceQuery},
		{&st.purge, purgeQuery},
	} {
		if *p.dst, err = db.Prepare(p.query); err != nil {
			return nil, fmt.Errorf("prepare %q: %w", p.query, err)
		}
	}
	return &st, nil
}

// Store is a components.Store in one SQLite file. It is safe for concurrent use, and other
// Stores, in this process or others, may use the same file at the same time.
type Store struct {
	db   *sql.DB
	st   *statements
	path string

	// lastPurge is when expired rows were last deleted, in Unix milliseconds.
	lastPurge atomic.Int64
}

var _ components.Store = (*Store)(nil)

// Open opens the store at path, creating the file and its parent directory if needed.
func Open(path string) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite store path %q: must be a file name without '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite store directory: %w", err)
	}

	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if _, err := db.Exec(schema + reminderSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create sqlite store schema in %s: %w", path, err)
	}

	st, err := prepare(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	return &Store{db: db, st: st, path: path}, nil
}

// dsn returns the driver's connection string for path. Every connection gets WAL mode, so
// readers never wait for a writer, and a busy timeout, so writers in other processes
// queue instead of failing; every transaction is BEGIN IMMEDIATE, so it holds the write
// lock from its first read and never fails to upgrade a read lock halfway.
func dsn(path string) string {
	return path +
		"?_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
}

// Path returns the file the store is in.
func (s *Store) Path() string {
	return s.path
}

// Get reads key. An expired key is reported as absent.
func (s *Store) Get(ctx context.Context, key string) (components.Item, bool, error) {
	var (
		item    components.Item
		version int64
		expires sql.NullInt64
	)
	err := s.st.get.QueryRowContext(ctx, key, nowMillis()).
		Scan(&item.Value, &version, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return components.Item{}, false, nil
	}
	if err != nil {
		return components.Item{}, false, fmt.Errorf("sqlite get %q: %w", key, err)
	}

	item.ETag = strconv.FormatInt(version, 10)
	if expires.Valid {
		item.Expires = time.UnixMilli(expires.Int64)
	}
	return item, true, nil
}

// Transact applies txn in one SQLite transaction, rolled back when any check fails.
func (s *Store) Transact(ctx context.Context, txn components.Txn) error {
	if len(txn.Ops) == 0 && txn.Fence == nil {
		return nil
	}
	for _, op := range txn.Ops {
		if err := validateETag(op); err != nil {
			return err
		}
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	w := writer{ctx: ctx, tx: tx, st: s.st, now: nowMillis()}
	if err := s.write(w, txn); err != nil {
		return err
	}

	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite commit: %w", err)
	}
	return nil
}

// write does the checks and writes of txn through w.
func (s *Store) write(w writer, txn components.Txn) error {
	// The fence goes first: a writer that lost ownership must learn that, not that its
	// ETags are stale.
	if txn.Fence != nil {
		if err := w.checkAndRaiseFence(txn.Fence); err != nil {
			return err
		}
	}

	for _, op := range txn.Ops {
		if err := w.apply(op); err != nil {
			return err
		}
	}

	last := s.lastPurge.Load()
	if w.now-last >= purgeInterval.Milliseconds() && s.lastPurge.CompareAndSwap(last, w.now) {
		return w.purgeExpired()
	}
	return nil
}

// writer runs the prepared statements inside one write transaction, at one instant.
type writer struct {
	ctx context.Context
	tx  *sql.Tx
	st  *statements
	now int64 // Unix milliseconds
}

func (w writer) exec(stmt *sql.Stmt, args ...any) error {
	_, err := w.tx.StmtContext(w.ctx, stmt).ExecContext(w.ctx, args...)
	return err
}

func (w writer) queryRow(stmt *sql.Stmt, args ...any) *sql.Row {
	return w.tx.StmtContext(w.ctx, stmt).QueryRowContext(w.ctx, args...)
}

// checkAndRaiseFence fails with ErrFenced when the stored token is above f.Token, and
// otherwise stores f.Token.
func (w writer) checkAndRaiseFence(f *components.Fence) error {
	var stored string
	err := w.queryRow(w.st.fence, f.Key).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite read fence %q: %w", f.Key, err)
	}
	if err == nil {
		token, perr := strconv.ParseUint(stored, 10, 64)
		if perr != nil {
			return fmt.Errorf("sqlite fence %q holds %q: %w", f.Key, stored, perr)
		}
		if token > f.Token {
			return fmt.Errorf("fence %q holds token %d, above %d: %w",
				f.Key, token, f.Token, components.ErrFenced)
		}
	}

	if err := w.exec(w.st.raiseFence, f.Key, strconv.FormatUint(f.Token, 10)); err != nil {
		return fmt.Errorf("sqlite write fence %q: %w", f.Key, err)
	}
	return nil
}

// apply checks op's ETag against the row as earlier ops of the transaction left it, then
// writes or deletes the row. An expired row counts as absent.
func (w writer) apply(op components.Op) error {
	current, exists, err := w.currentVersion(op.Key)
	if err != nil {
		return err
	}
	if err := checkETag(op, current, exists); err != nil {
		return err
	}

	if op.Delete {
		if err := w.exec(w.st.delete, op.Key); err != nil {
			return fmt.Errorf("sqlite delete %q: %w", op.Key, err)
		}
		return nil
	}

	var expires sql.NullInt64
	if op.TTL > 0 {
		expires = sql.NullInt64{Int64: w.now + max(op.TTL.Milliseconds(), 1), Valid: true}
	}
	value := op.Value
	if value == nil {
		value = []byte{} // the column is NOT NULL; an empty value is still a value
	}

	if err := w.exec(w.st.upsert, op.Key, value, current+1, expires); err != nil {
		return fmt.Errorf("sqlite upsert %q: %w", op.Key, err)
	}
	return nil
}

// currentVersion returns key's version, or exists false when the key is absent or expired
// (the next write then starts again at version 1).
func (w writer) currentVersion(key string) (version int64, exists bool, err error) {
	err = w.queryRow(w.st.version, key, w.now).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlite read version of %q: %w", key, err)
	}
	return version, true, nil
}

// purgeExpired deletes a batch of expired rows. It runs inside a write transaction, which
// already holds the write lock, so it costs no extra lock round.
func (w writer) purgeExpired() error {
	if err := w.exec(w.st.purge, w.now, purgeBatch); err != nil {
		return fmt.Errorf("sqlite purge expired: %w", err)
	}
	return nil
}

// validateETag rejects an ETag that is not a decimal version.
func validateETag(op components.Op) error {
	if op.ETag == "" {
		return nil
	}
	if _, err := strconv.ParseUint(op.ETag, 10, 63); err != nil {
		return fmt.Errorf("key %q: %w: %q", op.Key, components.ErrInvalidETag, op.ETag)
	}
	return nil
}

// checkETag applies Dapr's rule: an ETag must equal the stored version unless the key
// does not exist. The ETag has passed validateETag.
func checkETag(op components.Op, current int64, exists bool) error {
	if op.ETag == "" || !exists {
		return nil
	}

	want, _ := strconv.ParseInt(op.ETag, 10, 64)
	if want != current {
		return fmt.Errorf("key %q: %w", op.Key, components.ErrETagMismatch)
	}
	return nil
}

// Ping checks that the file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM state LIMIT 1`).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite ping %s: %w", s.path, err)
	}
	return nil
}

// Close closes the file.
func (s *Store) Close() error {
	return s.db.Close()
}

func nowMillis() int64 {
	return time.Now().UnixMilli()
}
