package telemetry

import "github.com/troupe-dev/troupe/components"

// Unwrap returns the traced store, so that its optional capabilities (reminders) stay
// reachable through components.ReminderStoreOf.
func (s *tracedStore) Unwrap() components.Store { return s.Store }
