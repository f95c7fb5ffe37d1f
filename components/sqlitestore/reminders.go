package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/troupe-dev/troupe/components"
)

// reminderSchema keeps each reminder in a row of its own; the index on (grp, due) is
// the due index the scheduler reads. due is Unix milliseconds.
const reminderSchema = `
CREATE TABLE IF NOT EXISTS reminders (
	grp     TEXT NOT NULL,
	member  TEXT NOT NULL,
	value   BLOB NOT NULL,
	version INTEGER NOT NULL,
	due     INTEGER NOT NULL,
	tag     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (grp, member)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reminders_due ON reminders (grp, due);
`

const (
	reminderGetQuery     = `SELECT value, version FROM reminders WHERE grp = ? AND member = ?`
	reminderVersionQuery = `SELECT version, tag FROM reminders WHERE grp = ? AND member = ?`
	reminderUpsertQuery  = `INSERT INTO reminders (grp, member, value, version, due, tag)
		VALUES (?, ?, ?, 1, ?, ?)
		ON CONFLICT (grp, member) DO UPDATE SET value = excluded.value,
			version = version + 1, due = excluded.due, tag = excluded.tag`
	reminderDeleteQuery = `DELETE FROM reminders WHERE grp = ? AND member = ?`
	reminderDueQuery    = `SELECT member, due FROM reminders WHERE grp = ? AND due <= ?
		ORDER BY due, member LIMIT ? OFFSET ?`
	reminderClaimQuery = `UPDATE reminders SET due = ?
		WHERE grp = ? AND member = ? AND due <= ? RETURNING value, version`
	reminderRescheduleQuery = `UPDATE reminders SET due = ? WHERE grp = ? AND member = ?`
)

var _ components.ReminderStore = (*Store)(nil)

// GetReminder reads a reminder row.
func (s *Store) GetReminder(ctx context.Context, group, member string) (
	components.Item, bool, error) {
	var (
		item    components.Item
		version int64
	)
	err := s.db.QueryRowContext(ctx, reminderGetQuery, group, member).
		Scan(&item.Value, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return components.Item{}, false, nil
	}
	if err != nil {
		return components.Item{}, false, fmt.Errorf("sqlite get reminder %q: %w", member, err)
	}
	item.ETag = strconv.FormatInt(version, 10)
	return item, true, nil
}

// PutReminder writes the row, its version and its due time in one transaction.
func (s *Store) PutReminder(ctx context.Context, w components.ReminderWrite) error {
	return s.writeReminder(ctx, w, func(tx writer) error {
		value := w.Value
		if value == nil {
			value = []byte{}
		}
		return tx.execQuery(reminderUpsertQuery, w.Group, w.Member, value, w.Due.UnixMilli(),
			w.Tag)
	})
}

// DeleteReminder deletes the row in one transaction.
func (s *Store) DeleteReminder(ctx context.Context, w components.ReminderWrite) error {
	return s.writeReminder(ctx, w, func(tx writer) error {
		return tx.execQuery(reminderDeleteQuery, w.Group, w.Member)
	})
}

// writeReminder checks w's fence and ETag and runs write, in one transaction.
func (s *Store) writeReminder(ctx context.Context, w components.ReminderWrite,
	write func(writer) error) error {
	if err := validateETag(components.Op{Key: w.Member, ETag: w.ETag}); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	wr := writer{ctx: ctx, tx: tx, st: s.st, now: nowMillis()}
	if w.Fence != nil {
		if err := wr.checkAndRaiseFence(w.Fence); err != nil {
			return err
		}
	}
	kept, err := wr.checkReminderVersion(w)
	if err != nil || kept {
		return err
	}
	if err := write(wr); err != nil {
		return fmt.Errorf("sqlite write reminder %q: %w", w.Member, err)
	}

	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite commit: %w", err)
	}
	return nil
}

// checkReminderVersion applies rw's ETag check, and reports kept when KeepSameTag finds
// the same tag stored, so that nothing is to be written.
func (w writer) checkReminderVersion(rw components.ReminderWrite) (kept bool, err error) {
	if rw.ETag == "" && !rw.KeepSameTag {
		return false, nil
	}
	var (
		version int64
		tag     string
	)
	err = w.tx.QueryRowContext(w.ctx, reminderVersionQuery, rw.Group, rw.Member).
		Scan(&version, &tag)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("sqlite read reminder version %q: %w", rw.Member, err)
	}

	if rw.ETag != "" && !found {
		return false, fmt.Errorf("reminder %q is gone: %w", rw.Member, components.ErrETagMismatch)
	}
	if rw.ETag != "" {
		if err := checkETag(components.Op{Key: rw.Member, ETag: rw.ETag}, version, true); err != nil {
			return false, err
		}
	}
	return rw.KeepSameTag && found && rw.Tag != "" && tag == rw.Tag, nil
}

func (w writer) execQuery(query string, args ...any) error {
	_, err := w.tx.ExecContext(w.ctx, query, args...)
	return err
}

// DueReminders reads the due index.
func (s *Store) DueReminders(ctx context.Context, group string, until time.Time,
	offset, limit int) ([]components.DueReminder, error) {
	rows, err := s.db.QueryContext(ctx, reminderDueQuery, group, until.UnixMilli(),
		limit, offset)
	if err != nil {
		return nil, fmt.Errorf("sqlite due reminders of %q: %w", group, err)
	}
	defer rows.Close()

	var due []components.DueReminder
	for rows.Next() {
		var (
			d  components.DueReminder
			ms int64
		)
		if err := rows.Scan(&d.Member, &ms); err != nil {
			return nil, fmt.Errorf("sqlite due reminders of %q: %w", group, err)
		}
		d.Due = time.UnixMilli(ms)
		due = append(due, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite due reminders of %q: %w", group, err)
	}
	return due, nil
}

// ClaimDueReminders moves the still-due rows and reads them, in one transaction.
func (s *Store) ClaimDueReminders(ctx context.Context, group string, members []string,
	now, until time.Time) ([]components.ClaimedReminder, error) {
	if len(members) == 0 {
		return nil, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	stmt, err := tx.PrepareContext(ctx, reminderClaimQuery)
	if err != nil {
		return nil, fmt.Errorf("sqlite claim reminders: %w", err)
	}
	defer stmt.Close()

	var claimed []components.ClaimedReminder
	for _, m := range members {
		var (
			c       = components.ClaimedReminder{Member: m}
			version int64
		)
		err := stmt.QueryRowContext(ctx, until.UnixMilli(), group, m, now.UnixMilli()).
			Scan(&c.Item.Value, &version)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite claim reminder %q: %w", m, err)
		}
		c.Item.ETag = strconv.FormatInt(version, 10)
		claimed = append(claimed, c)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite commit: %w", err)
	}
	return claimed, nil
}

// RescheduleReminder moves a row's due time without touching its value.
func (s *Store) RescheduleReminder(ctx context.Context, group, member string,
	due time.Time) error {
	_, err := s.db.ExecContext(ctx, reminderRescheduleQuery, due.UnixMilli(), group, member)
	if err != nil {
		return fmt.Errorf("sqlite reschedule reminder %q: %w", member, err)
	}
	return nil
}
