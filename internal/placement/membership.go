package placement

import (
	"fmt"
	"slices"
	"strings"
)

// Member is one sidecar as placement records it.
type Member struct {
	// Name is the sidecar's internal address, host:port; it identifies the member.
	Name string
	// AppID is the application the sidecar serves.
	AppID string
	// Entities are the actor types the sidecar hosts, sorted and without duplicates.
	Entities []string
}

func (m Member) equal(o Member) bool {
	return m.Name == o.Name && m.AppID == o.AppID && slices.Equal(m.Entities, o.Entities)
}

// Table is one committed generation of the membership.
type Table struct {
	// Version grows with every table; sidecars use it as their fencing token.
	Version uint64
	// Members are sorted by name.
	Members []Member
}

// Contains reports whether the table has a member called name.
func (t Table) Contains(name string) bool {
	_, found := slices.BinarySearchFunc(t.Members, name, compareName)
	return found
}

func compareName(m Member, name string) int { return strings.Compare(m.Name, name) }

// Command changes a Membership. Commands are plain values so that they can later be
// replicated through a consensus log before they are applied.
type Command interface{ isCommand() }

// Join adds a member, or replaces the record of a member with the same name.
type Join struct{ Member Member }

// Leave removes a member that announced its departure.
type Leave struct{ Name string }

// Expire removes a member that placement has not heard from for the member timeout.
type Expire struct{ Name string }

// CommitTable records that every live member acknowledged Table.
type CommitTable struct{ Table Table }

func (Join) isCommand()        {}
func (Leave) isCommand()       {}
func (Expire) isCommand()      {}
func (CommitTable) isCommand() {}

// Membership is the replicable part of placement's state: who the members are and
// which table they last agreed on. It is a pure state machine: no clock, I/O or
// goroutines, and the same commands in the same order give the same state.
//
// Invariant: committed.Version only grows.
type Membership struct {
	members   map[string]Member
	committed Table
}

// NewMembership returns an empty membership with no committed table (version 0).
func NewMembership() *Membership {
	return &Membership{members: make(map[string]Member)}
}

// Apply executes c and reports whether the member set changed.
func (m *Membership) Apply(c Command) (changed bool, err error) {
	switch c := c.(type) {
	case Join:
		old, ok := m.members[c.Member.Name]
		m.members[c.Member.Name] = c.Member
		return !ok || !old.equal(c.Member), nil
	case Leave:
		return m.remove(c.Name), nil
	case Expire:
		return m.remove(c.Name), nil
	case CommitTable:
		if c.Table.Version <= m.committed.Version {
			return false, fmt.Errorf("placement: table version %d does not advance committed %d",
				c.Table.Version, m.committed.Version)
		}
		m.committed = c.Table
		return false, nil
	default:
		panic(fmt.Sprintf("placement: unknown command %T", c))
	}
}

func (m *Membership) remove(name string) bool {
	_, ok := m.members[name]
	delete(m.members, name)
	return ok
}

// Member returns the record of the member called name.
func (m *Membership) Member(name string) (Member, bool) {
	mem, ok := m.members[name]
	return mem, ok
}

// Members returns the members sorted by name.
func (m *Membership) Members() []Member {
	out := make([]Member, 0, len(m.members))
	for _, mem := range m.members {
		out = append(out, mem)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Committed returns the last table every live member acknowledged.
func (m *Membership) Committed() Table { return m.committed }

// Pending reports whether the members differ from the committed table, that is
// whether a dissemination round is needed.
func (m *Membership) Pending() bool {
	if len(m.members) != len(m.committed.Members) {
		return true
	}
	for _, c := range m.committed.Members {
		mem, ok := m.members[c.Name]
		if !ok || !mem.equal(c) {
			return true
		}
	}
	return false
}
