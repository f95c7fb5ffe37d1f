package redisstore

import (
	"testing"

	"github.com/troupe-dev/troupe/components/storetest"
	"github.com/troupe-dev/troupe/internal/testutil"
)

func TestReminderContract(t *testing.T) {
	storetest.RunReminders(t, newStore(t, testutil.StartRedis(t)))
}
