// Package reminders keeps durable actor reminders: it parses Dapr's schedule formats
// (contract §1.6), stores each reminder on its own with its next due time indexed
// (components.ReminderStore), and runs the scheduler that finds the reminders due for
// the actors this sidecar owns and fires them, at least once, in the actor's turn.
//
// A reminder's record is the truth; the due index is a hint the scheduler repairs. The
// scheduler claims a due reminder by moving its index entry a lease ahead, re-reads the
// record inside the actor's turn, delivers it, and writes the outcome (next due time,
// or deletion) conditional on the version it read and fenced by the actor's ownership
// token. A crash between delivery and write repeats the delivery after the lease.
package reminders
