package reminders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/internal/appchannel"
)

// ErrNotOwner is what Host.InTurn returns when the actor cannot take a turn on this
// sidecar now (it moved, is moving, or the sidecar is stopping). The scheduler then
// leaves the reminder to the actor's owner.
var ErrNotOwner = errors.New("reminders: actor is not owned by this sidecar")

// CancelHeader is the app's answer header that deletes the reminder it answers.
const CancelHeader = "X-Daprremindercancel"

// Defaults of Options.
const (
	DefaultPollInterval  = 50 * time.Millisecond
	DefaultClaimLease    = 5 * time.Second
	DefaultBatchSize     = 1000
	DefaultMaxDeliveries = 4096
	DefaultMinBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff    = time.Minute

	// maxScanPerTick bounds the index entries one scan of a type reads, so a backlog
	// owned by other sidecars cannot make a scan endless.
	maxScanPerTick = 20 * DefaultBatchSize
)

// Host is the actor runtime as the scheduler sees it.
type Host interface {
	// Owns reports whether this sidecar fires the actor's reminders now, and the
	// ownership token (the placement table's version; 0 when the sidecar runs alone).
	Owns(actorType, actorID string) (token uint64, ok bool)

	// InTurn runs fn in the actor's turn on this sidecar, activating the actor if
	// needed, and returns fn's error. It returns ErrNotOwner without running fn when the
	// actor cannot take a turn here.
	InTurn(ctx context.Context, actorType, actorID string, fn func(Turn) error) error
}

// Turn is what a reminder's delivery may do while it holds the actor's turn.
type Turn struct {
	// Fence guards writes about the actor against a newer owner; nil when the sidecar
	// runs alone.
	Fence *components.Fence

	// Token is the ownership token the turn was admitted under, as Host.Owns reports it.
	Token uint64

	// Call delivers PUT /actors/{type}/{id}/method/{path} with a JSON body to the app.
	Call func(ctx context.Context, path string, body []byte) (*appchannel.Response, error)
}

// Options configures a Scheduler.
type Options struct {
	// AppID and Types say whose reminders these are: the app's hosted actor types.
	AppID string
	Types []string

	// Store keeps the reminders.
	Store components.ReminderStore

	// Host runs the deliveries.
	Host Host

	// PollInterval is how often the due index is read; a reminder fires up to this late.
	PollInterval time.Duration

	// ClaimLease is how long a claimed reminder stays hidden from scans. A sidecar that
	// dies while delivering delays those reminders by up to this much.
	ClaimLease time.Duration

	// BatchSize is the number of index entries read per query.
	BatchSize int

	// MaxDeliveries bounds the deliveries in flight; further due reminders wait.
	MaxDeliveries int

	// MinBackoff and MaxBackoff bound the wait before a failed delivery is retried; it
	// doubles with each failure.
	MinBackoff, MaxBackoff time.Duration

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Logger receives errors; nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{
		{&o.PollInterval, DefaultPollInterval},
		{&o.ClaimLease, DefaultClaimLease},
		{&o.MinBackoff, DefaultMinBackoff},
		{&o.MaxBackoff, DefaultMaxBackoff},
	}
	for _, d := range defaults {
		if *d.d <= 0 {
			*d.d = d.def
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = DefaultMaxDeliveries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Scheduler keeps an app's reminders: it registers, reads and deletes them, and Run
// fires those that are due for the actors this sidecar owns.
type Scheduler struct {
	opts  Options
	store components.ReminderStore
	log   *slog.Logger

	// slots bounds the deliveries in flight.
	slots chan struct{}

	// mu guards inFlight, the members (group + "\x00" + member) being delivered here,
	// which scans skip even once their claim lease has passed.
	mu       sync.Mutex
	inFlight map[string]struct{}
}

// New returns a scheduler for opts.
func New(opts Options) *Scheduler {
	opts.setDefaults()
	return &Scheduler{
		opts:     opts,
		store:    opts.Store,
		log:      opts.Logger,
		slots:    make(chan struct{}, opts.MaxDeliveries),
		inFlight: make(map[string]struct{}),
	}
}

func (s *Scheduler) group(actorType string) string {
	return s.opts.AppID + "||" + actorType
}

// Register creates or replaces a reminder. Registering one that is unchanged (same due
// time, period and data, no TTL) keeps its running schedule.
func (s *Scheduler) Register(ctx context.Context, req Request) error {
	r, err := newReminder(req, s.opts.Now())
	if err != nil {
		return err
	}

	return s.write(ctx, s.group(req.ActorType), member(req.ActorID, req.Name), r,
		components.ReminderWrite{KeepSameTag: true})
}

// Get returns the reminder, or nil when there is none.
func (s *Scheduler) Get(ctx context.Context, actorType, actorID, name string) (*Reminder, error) {
	r, _, err := s.get(ctx, s.group(actorType), member(actorID, name))
	return r, err
}

// Delete deletes the reminder; a missing one is not an error.
func (s *Scheduler) Delete(ctx context.Context, actorType, actorID, name string) error {
	w := components.ReminderWrite{Group: s.group(actorType), Member: member(actorID, name)}
	if err := s.store.DeleteReminder(ctx, w); err != nil {
		return fmt.Errorf("deleting reminder: %w", err)
	}
	return nil
}

// get reads and decodes a reminder; nil when absent.
func (s *Scheduler) get(ctx context.Context, group, m string) (*Reminder, string, error) {
	item, found, err := s.store.GetReminder(ctx, group, m)
	if err != nil {
		return nil, "", fmt.Errorf("reading reminder: %w", err)
	}
	if !found {
		return nil, "", nil
	}
	var r Reminder
	if err := json.Unmarshal(item.Value, &r); err != nil {
		return nil, "", fmt.Errorf("decoding reminder %q of %q: %w", m, group, err)
	}
	return &r, item.ETag, nil
}

// write stores r with its tag, under the conditions in w.
func (s *Scheduler) write(ctx context.Context, group, m string, r *Reminder,
	w components.ReminderWrite) error {
	value, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding reminder: %w", err)
	}
	w.Group, w.Member, w.Value, w.Due, w.Tag = group, m, value, r.Due, r.tag()
	if err := s.store.PutReminder(ctx, w); err != nil {
		return fmt.Errorf("writing reminder: %w", err)
	}
	return nil
}

// Run fires due reminders until ctx ends, then waits for the deliveries in flight.
func (s *Scheduler) Run(ctx context.Context) error {
	var deliveries sync.WaitGroup
	defer deliveries.Wait()

	ticker := time.NewTicker(s.opts.PollInterval)
	defer ticker.Stop()
	for {
		for _, typ := range s.opts.Types {
			s.scan(ctx, typ, &deliveries)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// scan claims the due reminders of actorType that this sidecar owns and starts their
// deliveries.
func (s *Scheduler) scan(ctx context.Context, actorType string, deliveries *sync.WaitGroup) {
	group := s.group(actorType)
	now := s.opts.Now()
	for offset := 0; offset < maxScanPerTick && ctx.Err() == nil; {
		due, err := s.store.DueReminders(ctx, group, now, offset, s.opts.BatchSize)
		if err != nil {
			s.logScanError(ctx, actorType, err)
			return
		}

		claimed, tokens, err := s.claim(ctx, actorType, group, due, now)
		if err != nil {
			s.logScanError(ctx, actorType, err)
			return
		}
		for _, c := range claimed {
			s.start(ctx, actorType, group, c, tokens[c.Member], deliveries)
		}

		if len(due) < s.opts.BatchSize {
			return
		}
		offset += len(due) - len(claimed) // claimed entries left the due range
	}
}

func (s *Scheduler) logScanError(ctx context.Context, actorType string, err error) {
	if ctx.Err() == nil {
		s.log.Warn("reading due reminders", "actor_type", actorType, "err", err)
	}
}

// claim hides the due entries this sidecar owns (and is not delivering yet) from scans
// for the claim lease, and returns those it claimed with the ownership token of each.
func (s *Scheduler) claim(ctx context.Context, actorType, group string,
	due []components.DueReminder, now time.Time) (
	[]components.ClaimedReminder, map[string]uint64, error) {
	mine := make([]string, 0, len(due))
	tokens := make(map[string]uint64, len(due))
	for _, d := range due {
		actorID, _, ok := parseMember(d.Member)
		if !ok || s.delivering(group, d.Member) {
			continue
		}
		if token, owned := s.opts.Host.Owns(actorType, actorID); owned {
			mine = append(mine, d.Member)
			tokens[d.Member] = token
		}
	}
	claimed, err := s.store.ClaimDueReminders(ctx, group, mine, now,
		now.Add(s.opts.ClaimLease))
	return claimed, tokens, err
}

func (s *Scheduler) delivering(group, m string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.inFlight[group+"\x00"+m]
	return ok
}

// start delivers a claimed reminder in a goroutine of its own, so that a slow actor
// delays only its own reminders; it waits while MaxDeliveries are in flight.
func (s *Scheduler) start(ctx context.Context, actorType, group string,
	c components.ClaimedReminder, token uint64, deliveries *sync.WaitGroup) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	key := group + "\x00" + c.Member
	s.mu.Lock()
	s.inFlight[key] = struct{}{}
	s.mu.Unlock()

	deliveries.Go(func() {
		defer func() {
			s.mu.Lock()
			delete(s.inFlight, key)
			s.mu.Unlock()
			<-s.slots
		}()
		s.fire(ctx, actorType, group, c, token)
	})
}

// fire delivers one claimed reminder in its actor's turn.
func (s *Scheduler) fire(ctx context.Context, actorType, group string,
	c components.ClaimedReminder, token uint64) {
	m := c.Member
	actorID, _, _ := parseMember(m)
	err := s.opts.Host.InTurn(ctx, actorType, actorID, func(t Turn) error {
		return s.deliver(ctx, t, group, c, token)
	})
	switch {
	case errors.Is(err, ErrNotOwner):
		// Give the claim back so the new owner need not wait for the lease.
		if err := s.store.RescheduleReminder(ctx, group, m, s.opts.Now()); err != nil {
			s.log.Debug("releasing reminder claim", "actor_type", actorType, "err", err)
		}
	case err != nil && ctx.Err() == nil:
		s.log.Warn("reminder not delivered; retried after its claim lease",
			"actor_type", actorType, "actor_id", actorID, "err", err)
	}
}

// deliver runs in the actor's turn: it calls the app if the reminder is still due and
// writes the outcome under the version it read. The record read by the claim is current
// unless the actor changed owners in between (another owner may have fired it); then it
// is read again. Registrations in between make the final write fail its ETag check.
func (s *Scheduler) deliver(ctx context.Context, t Turn, group string,
	c components.ClaimedReminder, token uint64) error {
	m := c.Member
	r, etag, err := s.claimedRecord(ctx, t, group, c, token)
	if err != nil || r == nil {
		return err // a deleted reminder leaves no index entry behind
	}
	now := s.opts.Now()
	if r.Due.After(now) {
		// Fired meanwhile, or re-registered: restore the entry the claim moved.
		return s.store.RescheduleReminder(ctx, group, m, r.Due)
	}
	if !r.Expires.IsZero() && !r.Scheduled.Before(r.Expires) {
		return s.finish(ctx, t, group, m, etag)
	}

	body, err := r.CallBody()
	if err != nil {
		return fmt.Errorf("encoding reminder call: %w", err)
	}
	resp, callErr := t.Call(ctx, "remind/"+url.PathEscape(r.Name), body)

	switch {
	case resp != nil && truthy(resp.Header.Get(CancelHeader)):
		return s.finish(ctx, t, group, m, etag)
	case callErr == nil && resp.Status == http.StatusOK:
		if !s.advance(r, now) {
			return s.finish(ctx, t, group, m, etag)
		}
	default:
		s.log.Debug("reminder delivery failed", "actor_type", r.ActorType,
			"actor_id", r.ActorID, "reminder", r.Name, "err", callErr)
		r.Attempts++
		r.Due = now.Add(s.backoff(r.Attempts))
	}
	return s.settle(s.write(ctx, group, m, r,
		components.ReminderWrite{ETag: etag, Fence: t.Fence}))
}

// claimedRecord decodes the record the claim read, or reads it again when the turn was
// admitted under another ownership token than the claim.
func (s *Scheduler) claimedRecord(ctx context.Context, t Turn, group string,
	c components.ClaimedReminder, token uint64) (*Reminder, string, error) {
	if t.Token != token {
		return s.get(ctx, group, c.Member)
	}
	var r Reminder
	if err := json.Unmarshal(c.Item.Value, &r); err != nil {
		return nil, "", fmt.Errorf("decoding reminder %q of %q: %w", c.Member, group, err)
	}
	return &r, c.Item.ETag, nil
}

// advance moves r past a successful fire at now; false when r has no fire left.
func (s *Scheduler) advance(r *Reminder, now time.Time) bool {
	if r.RepeatsLeft > 0 {
		r.RepeatsLeft--
	}
	period, err := ParsePeriod(r.Period)
	if err != nil || r.RepeatsLeft == 0 || !period.Repeating() {
		return false
	}
	next := period.Next(r.Scheduled, now)
	if !r.Expires.IsZero() && !next.Before(r.Expires) {
		return false
	}
	r.Scheduled, r.Due, r.Attempts = next, next, 0
	return true
}

// finish deletes a reminder that has fired for the last time.
func (s *Scheduler) finish(ctx context.Context, t Turn, group, m, etag string) error {
	err := s.store.DeleteReminder(ctx, components.ReminderWrite{
		Group: group, Member: m, ETag: etag, Fence: t.Fence,
	})
	if err != nil {
		err = fmt.Errorf("deleting reminder: %w", err)
	}
	return s.settle(err)
}

// settle drops the errors that mean someone else has taken over the reminder: it was
// re-registered or deleted meanwhile, or a newer owner holds the actor.
func (s *Scheduler) settle(err error) error {
	if errors.Is(err, components.ErrETagMismatch) || errors.Is(err, components.ErrFenced) {
		return nil
	}
	return err
}

func (s *Scheduler) backoff(attempts int) time.Duration {
	d := s.opts.MinBackoff
	for i := 1; i < attempts && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.opts.MaxBackoff)
}

// truthy reads a header flag as daprd does.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y", "yes", "true", "t", "on", "1":
		return true
	}
	return false
}
