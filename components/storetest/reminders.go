package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
)

// RunReminders runs the ReminderStore contract against s. Each case uses its own group.
func RunReminders(t *testing.T, s components.ReminderStore) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s components.ReminderStore, group string)
	}{
		{"put get delete", testReminderPutGetDelete},
		{"due order and paging", testReminderDue},
		{"etag and fence", testReminderConditions},
		{"claim moves only due entries", testReminderClaim},
		{"reschedule", testReminderReschedule},
		{"keep same tag", testReminderKeepSameTag},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, s, t.Name()) })
	}
}

var epoch = time.UnixMilli(1_700_000_000_000)

func putReminder(t *testing.T, s components.ReminderStore, group, member string,
	due time.Time) {
	t.Helper()
	err := s.PutReminder(context.Background(), components.ReminderWrite{
		Group: group, Member: member, Value: []byte(member), Due: due})
	require.NoError(t, err)
}

func dueMembers(t *testing.T, s components.ReminderStore, group string, until time.Time,
	offset, limit int) []string {
	t.Helper()
	due, err := s.DueReminders(context.Background(), group, until, offset, limit)
	require.NoError(t, err)
	members := make([]string, len(due))
	for i, d := range due {
		members[i] = d.Member
	}
	return members
}

func testReminderPutGetDelete(t *testing.T, s components.ReminderStore, group string) {
	ctx := context.Background()
	_, found, err := s.GetReminder(ctx, group, "r")
	require.NoError(t, err)
	require.False(t, found)

	putReminder(t, s, group, "r", epoch)
	item, found, err := s.GetReminder(ctx, group, "r")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "r", string(item.Value))
	require.Equal(t, "1", item.ETag)

	putReminder(t, s, group, "r", epoch.Add(time.Second))
	item, _, _ = s.GetReminder(ctx, group, "r")
	require.Equal(t, "2", item.ETag)
	due, err := s.DueReminders(ctx, group, epoch.Add(time.Hour), 0, 10)
	require.NoError(t, err)
	require.Equal(t, []components.DueReminder{{Member: "r", Due: epoch.Add(time.Second)}}, due)

	require.NoError(t, s.DeleteReminder(ctx, components.ReminderWrite{Group: group, Member: "r"}))
	_, found, _ = s.GetReminder(ctx, group, "r")
	require.False(t, found)
	require.Empty(t, dueMembers(t, s, group, epoch.Add(time.Hour), 0, 10))
	require.NoError(t, s.DeleteReminder(ctx, components.ReminderWrite{Group: group, Member: "r"}),
		"deleting a missing reminder")
}

func testReminderDue(t *testing.T, s components.ReminderStore, group string) {
	for i := range 5 {
		putReminder(t, s, group, "m"+strconv.Itoa(i), epoch.Add(time.Duration(4-i)*time.Second))
	}
	putReminder(t, s, "other"+group, "x", epoch)

	require.Equal(t, []string{"m4", "m3", "m2"}, dueMembers(t, s, group, epoch.Add(2*time.Second), 0, 10))
	require.Equal(t, []string{"m3", "m2"}, dueMembers(t, s, group, epoch.Add(4*time.Second), 1, 2))
	require.Empty(t, dueMembers(t, s, group, epoch.Add(-time.Millisecond), 0, 10))
}

func testReminderConditions(t *testing.T, s components.ReminderStore, group string) {
	ctx := context.Background()
	putReminder(t, s, group, "r", epoch)

	stale := components.ReminderWrite{Group: group, Member: "r", Value: []byte("x"),
		Due: epoch, ETag: "7"}
	require.ErrorIs(t, s.PutReminder(ctx, stale), components.ErrETagMismatch)
	require.ErrorIs(t, s.DeleteReminder(ctx, stale), components.ErrETagMismatch)
	stale.ETag = "x"
	require.ErrorIs(t, s.PutReminder(ctx, stale), components.ErrInvalidETag)

	gone := components.ReminderWrite{Group: group, Member: "gone", Value: []byte("x"),
		Due: epoch, ETag: "1"}
	require.ErrorIs(t, s.PutReminder(ctx, gone), components.ErrETagMismatch,
		"a write based on a deleted record must not bring it back")
	_, found, _ := s.GetReminder(ctx, group, "gone")
	require.False(t, found)

	fenceKey := "troupe-fence:" + group
	fenced := components.ReminderWrite{Group: group, Member: "r", Value: []byte("v5"),
		Due: epoch, ETag: "1", Fence: &components.Fence{Key: fenceKey, Token: 5}}
	require.NoError(t, s.PutReminder(ctx, fenced))
	fenced.ETag, fenced.Fence.Token, fenced.Value = "2", 4, []byte("v4")
	require.ErrorIs(t, s.PutReminder(ctx, fenced), components.ErrFenced)

	item, _, _ := s.GetReminder(ctx, group, "r")
	require.Equal(t, "v5", string(item.Value), "rejected writes wrote nothing")
}

func testReminderClaim(t *testing.T, s components.ReminderStore, group string) {
	ctx := context.Background()
	putReminder(t, s, group, "due", epoch)
	putReminder(t, s, group, "later", epoch.Add(time.Minute))

	lease := epoch.Add(10 * time.Second)
	claimed, err := s.ClaimDueReminders(ctx, group, []string{"due", "later", "missing"},
		epoch, lease)
	require.NoError(t, err)
	require.Equal(t, []components.ClaimedReminder{
		{Member: "due", Item: components.Item{Value: []byte("due"), ETag: "1"}},
	}, claimed)
	require.Empty(t, dueMembers(t, s, group, epoch.Add(time.Second), 0, 10))
	require.Equal(t, []string{"due"}, dueMembers(t, s, group, lease, 0, 10))

	_, found, _ := s.GetReminder(ctx, group, "missing")
	require.False(t, found, "claiming does not create records")
}

func testReminderReschedule(t *testing.T, s components.ReminderStore, group string) {
	ctx := context.Background()
	putReminder(t, s, group, "r", epoch.Add(time.Hour))

	require.NoError(t, s.RescheduleReminder(ctx, group, "r", epoch))
	require.NoError(t, s.RescheduleReminder(ctx, group, "gone", epoch))
	require.Equal(t, []string{"r"}, dueMembers(t, s, group, epoch, 0, 10))
	item, _, _ := s.GetReminder(ctx, group, "r")
	require.Equal(t, "1", item.ETag, "rescheduling leaves the record alone")
}

func testReminderKeepSameTag(t *testing.T, s components.ReminderStore, group string) {
	ctx := context.Background()
	w := components.ReminderWrite{Group: group, Member: "r", Value: []byte("v1"), Due: epoch,
		Tag: "t1", KeepSameTag: true}
	require.NoError(t, s.PutReminder(ctx, w))

	w.Value, w.Due = []byte("v2"), epoch.Add(time.Hour)
	require.NoError(t, s.PutReminder(ctx, w))
	item, _, _ := s.GetReminder(ctx, group, "r")
	require.Equal(t, "v1", string(item.Value), "same tag: kept")
	require.Equal(t, "1", item.ETag)
	require.Equal(t, []string{"r"}, dueMembers(t, s, group, epoch, 0, 10))

	w.Tag = "t2"
	require.NoError(t, s.PutReminder(ctx, w))
	item, _, _ = s.GetReminder(ctx, group, "r")
	require.Equal(t, "v2", string(item.Value), "other tag: replaced")

	w.Value, w.KeepSameTag = []byte("v3"), false
	require.NoError(t, s.PutReminder(ctx, w))
	item, _, _ = s.GetReminder(ctx, group, "r")
	require.Equal(t, "v3", string(item.Value), "without KeepSameTag: replaced")
}
