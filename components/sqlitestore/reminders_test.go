package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/troupe-dev/troupe/components/storetest"
)

func TestReminderContract(t *testing.T) {
	storetest.RunReminders(t, openStore(t, filepath.Join(t.TempDir(), "actors.db")))
}
