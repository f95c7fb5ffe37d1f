package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/troupe-dev/troupe/components"
)

// Key prefixes of reminders. Actor state keys start with the app id, fence keys with
// "troupe-fence:", so these cannot collide with either.
const (
	reminderPrefix = "troupe-reminder:"
	duePrefix      = "troupe-reminders-due:"
)

//go:embed reminders.lua
var reminderSource string

var reminderScript = redis.NewScript(reminderSource)

// replyKept is reminderScript's reply when KeepSameTag left the record alone.
const replyKept = 3

// claimScript moves the index entries of ARGV[3..] that are due at or before ARGV[1]
// to ARGV[2] and returns member, data and version of each, flat. Entries whose record
// is gone are removed. KEYS[1] is the index; KEYS[2] the record key prefix.
var claimScript = redis.NewScript(`
local now, lease = tonumber(ARGV[1]), ARGV[2]
local claimed = {}
for i = 3, #ARGV do
  local m = ARGV[i]
  local s = redis.call("ZSCORE", KEYS[1], m)
  if s and tonumber(s) <= now then
    local rec = redis.call("HMGET", KEYS[2] .. m, "data", "version")
    if rec[1] and rec[2] then
      redis.call("ZADD", KEYS[1], lease, m)
      claimed[#claimed + 1] = m
      claimed[#claimed + 1] = rec[1]
      claimed[#claimed + 1] = rec[2]
    else
      redis.call("ZREM", KEYS[1], m)
    end
  end
end
return claimed
`)

var _ components.ReminderStore = (*Store)(nil)

func reminderKey(group, member string) string { return recordPrefix(group) + member }

func recordPrefix(group string) string { return reminderPrefix + group + "||" }

func dueKey(group string) string { return duePrefix + group }

// GetReminder reads a reminder record with one HGETALL.
func (s *Store) GetReminder(ctx context.Context, group, member string) (
	components.Item, bool, error) {
	key := reminderKey(group, member)
	fields, err := s.client.HGetAll(ctx, key).Result()
	if err != nil {
		return components.Item{}, false, fmt.Errorf("redis get reminder %q: %w", key, err)
	}
	if len(fields) == 0 {
		return components.Item{}, false, nil
	}
	return itemFromHash(key, fields)
}

// PutReminder writes the record and its index entry with one script run.
func (s *Store) PutReminder(ctx context.Context, w components.ReminderWrite) error {
	return s.writeReminder(ctx, "u", w)
}

// DeleteReminder deletes the record and its index entry with one script run.
func (s *Store) DeleteReminder(ctx context.Context, w components.ReminderWrite) error {
	return s.writeReminder(ctx, "d", w)
}

func (s *Store) writeReminder(ctx context.Context, kind string, w components.ReminderWrite) error {
	etag, err := normalizeETag(w.ETag)
	if err != nil {
		return fmt.Errorf("reminder %q: %w", w.Member, err)
	}
	keys := []string{reminderKey(w.Group, w.Member), dueKey(w.Group)}
	fence := ""
	if w.Fence != nil {
		keys = append(keys, w.Fence.Key)
		fence = strconv.FormatUint(w.Fence.Token, 10)
	}

	keep := ""
	if w.KeepSameTag {
		keep = "1"
	}
	reply, err := s.reminderWrites.run(ctx, s.client, keys,
		kind, w.Member, etag, w.Value, w.Due.UnixMilli(), fence, w.Tag, keep)
	if err != nil {
		return fmt.Errorf("redis reminder write: %w", err)
	}
	return reminderReplyError(w, reply)
}

func reminderReplyError(w components.ReminderWrite, reply []any) error {
	code := int64(-1)
	if len(reply) > 0 {
		code, _ = reply[0].(int64)
	}
	switch {
	case code == replyApplied || code == replyKept:
		return nil
	case code == replyMismatch:
		return fmt.Errorf("reminder %q: %w", w.Member, components.ErrETagMismatch)
	case code == replyFenced && len(reply) == 2 && w.Fence != nil:
		return fmt.Errorf("fence %q holds token %v, above %d: %w",
			w.Fence.Key, reply[1], w.Fence.Token, components.ErrFenced)
	}
	return fmt.Errorf("redis reminder write: unexpected reply %v", reply)
}

// DueReminders reads index entries with ZRANGE BYSCORE.
func (s *Store) DueReminders(ctx context.Context, group string, until time.Time,
	offset, limit int) ([]components.DueReminder, error) {
	zs, err := s.client.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
		Key:     dueKey(group),
		Start:   "-inf",
		Stop:    strconv.FormatInt(until.UnixMilli(), 10),
		ByScore: true,
		Offset:  int64(offset),
		Count:   int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis due reminders of %q: %w", group, err)
	}

	due := make([]components.DueReminder, len(zs))
	for i, z := range zs {
		member, _ := z.Member.(string)
		due[i] = components.DueReminder{Member: member, Due: time.UnixMilli(int64(z.Score))}
	}
	return due, nil
}

// ClaimDueReminders moves the still-due entries and reads their records with one
// script run.
func (s *Store) ClaimDueReminders(ctx context.Context, group string, members []string,
	now, until time.Time) ([]components.ClaimedReminder, error) {
	if len(members) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 2+len(members))
	args = append(args, now.UnixMilli(), until.UnixMilli())
	for _, m := range members {
		args = append(args, m)
	}

	flat, err := claimScript.Run(ctx, s.client, []string{dueKey(group), recordPrefix(group)},
		args...).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis claim reminders of %q: %w", group, err)
	}
	claimed := make([]components.ClaimedReminder, 0, len(flat)/3)
	for i := 0; i+2 < len(flat); i += 3 {
		claimed = append(claimed, components.ClaimedReminder{
			Member: flat[i],
			Item:   components.Item{Value: []byte(flat[i+1]), ETag: flat[i+2]},
		})
	}
	return claimed, nil
}

// RescheduleReminder moves an existing index entry with ZADD XX.
func (s *Store) RescheduleReminder(ctx context.Context, group, member string,
	due time.Time) error {
	err := s.client.ZAddXX(ctx, dueKey(group), redis.Z{
		Score:  float64(due.UnixMilli()),
		Member: member,
	}).Err()
	if err != nil {
		return fmt.Errorf("redis reschedule reminder %q: %w", member, err)
	}
	return nil
}
