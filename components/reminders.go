package components

import (
	"context"
	"time"
)

// ReminderStore is the optional capability of a Store that keeps durable reminders: each
// reminder is a record of its own, and every group (an app's actor type) has an index of
// its reminders by due time, so the reminders due now are found without reading the
// others. Both stores implement it; the records and index live beside the actor state.
//
// A record is addressed by its group and a member name unique within the group. Its
// value is opaque; its ETag follows the rules of Item.ETag. A write sets the record and
// its index entry together, all or nothing, under the same ETag and Fence rules as
// Transact. The index entry's due time is a hint that the owner of the reminders may move
// on its own (see ClaimDueReminders); the record stays the truth.
type ReminderStore interface {
	// GetReminder returns the record of member in group; found is false when absent.
	GetReminder(ctx context.Context, group, member string) (item Item, found bool, err error)

	// PutReminder creates or replaces the record and sets its index entry to due.
	PutReminder(ctx context.Context, w ReminderWrite) error

	// DeleteReminder removes the record and its index entry. A missing record is not an
	// error; its index entry, if any, is removed all the same.
	DeleteReminder(ctx context.Context, w ReminderWrite) error

	// DueReminders lists up to limit index entries of group due at or before until, the
	// earliest first, skipping the first offset of them.
	DueReminders(ctx context.Context, group string, until time.Time, offset, limit int) (
		[]DueReminder, error)

	// ClaimDueReminders moves the index entries of members that are still due at or
	// before now to until, and returns those members with their records, read in the
	// same step. The scheduler calls it to hide the reminders it is about to fire from
	// its next scans. An entry whose record is missing is removed, not returned.
	ClaimDueReminders(ctx context.Context, group string, members []string, now,
		until time.Time) ([]ClaimedReminder, error)

	// RescheduleReminder sets the index entry of an indexed member to due, without
	// touching the record; it does nothing when the member is not indexed.
	RescheduleReminder(ctx context.Context, group, member string, due time.Time) error
}

// ReminderWrite is a conditional write of one reminder record.
type ReminderWrite struct {
	Group  string
	Member string

	// Value and Due are the record and its index entry; ignored by DeleteReminder.
	Value []byte
	Due   time.Time

	// ETag, when not empty, must equal the record's version. Unlike Op.ETag, a missing
	// record fails the check, so a write based on a record that was deleted meanwhile
	// cannot bring it back.
	ETag string

	// Fence, when not nil, makes the write conditional on ownership as in Txn.Fence.
	Fence *Fence

	// Tag is stored with the record (the scheduler's digest of what the user asked for).
	// With KeepSameTag, a PutReminder that finds a record with the same non-empty Tag
	// leaves the record and its index entry as they are, so re-registering an unchanged
	// reminder costs one round trip and keeps its schedule.
	Tag         string
	KeepSameTag bool
}

// ClaimedReminder is a claimed index entry with its record.
type ClaimedReminder struct {
	Member string
	Item   Item
}

// DueReminder is one index entry.
type DueReminder struct {
	Member string
	Due    time.Time
}

// Decorator is a Store that wraps another one, such as a tracing layer. Unwrap returns
// the wrapped store, so optional capabilities like ReminderStore stay reachable.
type Decorator interface {
	Unwrap() Store
}

// ReminderStoreOf returns the ReminderStore that s is, or that a chain of Decorators
// around it wraps.
func ReminderStoreOf(s Store) (ReminderStore, bool) {
	for s != nil {
		if rs, ok := s.(ReminderStore); ok {
			return rs, true
		}
		d, ok := s.(Decorator)
		if !ok {
			return nil, false
		}
		s = d.Unwrap()
	}
	return nil, false
}
