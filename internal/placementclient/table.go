package placementclient

import (
	"slices"
	"strings"
	"sync"

	"github.com/troupe-dev/troupe/internal/hashring"
	pb "github.com/troupe-dev/troupe/internal/placementpb"
)

// Member is one sidecar in a table.
type Member struct {
	// Name is the sidecar's internal address, host:port.
	Name string
	// AppID is the application the sidecar serves.
	AppID string
	// Entities are the actor types the sidecar hosts.
	Entities []string
}

// Table is one generation of the placement table. The owner of an actor is the host
// that the consistent-hash ring of all members hosting its type assigns to its ID.
// A Table is immutable and safe for concurrent use; the nil *Table is an empty table
// of version 0. Rings are built on first use, once per actor type.
type Table struct {
	version uint64
	members []Member // sorted by name
	types   map[string]*typeRing
}

// typeRing is the ring of one actor type, built on first lookup.
type typeRing struct {
	hosts []string // sorted
	once  sync.Once
	ring  *hashring.Ring
}

func (r *typeRing) get() *hashring.Ring {
	r.once.Do(func() { r.ring = hashring.New(r.hosts) })
	return r.ring
}

// NewTable builds the table of the given version and members (any order).
func NewTable(version uint64, members []Member) *Table {
	t := &Table{
		version: version,
		members: slices.Clone(members),
		types:   make(map[string]*typeRing),
	}
	slices.SortFunc(t.members, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })

	for _, m := range t.members {
		for _, typ := range m.Entities {
			r := t.types[typ]
			if r == nil {
				r = &typeRing{}
				t.types[typ] = r
			}
			r.hosts = append(r.hosts, m.Name) // members are sorted, so hosts are too
		}
	}
	return t
}

func tableFromProto(p *pb.Table) *Table {
	members := make([]Member, len(p.GetMembers()))
	for i, m := range p.GetMembers() {
		members[i] = Member{Name: m.GetName(), AppID: m.GetAppId(), Entities: m.GetEntities()}
	}
	return NewTable(p.GetVersion(), members)
}

// Version is the table's version: the fencing token of the actors it assigns.
func (t *Table) Version() uint64 {
	if t == nil {
		return 0
	}
	return t.version
}

// Owner returns the host that owns the actor; ok is false when no member hosts
// actorType.
func (t *Table) Owner(actorType, actorID string) (host string, ok bool) {
	if t == nil {
		return "", false
	}
	r := t.types[actorType]
	if r == nil {
		return "", false
	}
	return r.get().Owner(actorID), true
}

// Hosts returns the members hosting actorType, sorted. The caller must not modify it.
func (t *Table) Hosts(actorType string) []string {
	if t == nil || t.types[actorType] == nil {
		return nil
	}
	return t.types[actorType].hosts
}

// Members returns the members sorted by name. The caller must not modify it.
func (t *Table) Members() []Member {
	if t == nil {
		return nil
	}
	return t.members
}

// Member returns the member called name.
func (t *Table) Member(name string) (Member, bool) {
	if t == nil {
		return Member{}, false
	}
	i, found := slices.BinarySearchFunc(t.members, name, func(m Member, n string) int {
		return strings.Compare(m.Name, n)
	})
	if !found {
		return Member{}, false
	}
	return t.members[i], true
}

// Contains reports whether name is a member.
func (t *Table) Contains(name string) bool {
	_, ok := t.Member(name)
	return ok
}

// SameOwner reports whether a and b assign the actor to the same host (or both to
// none). A sidecar stops admitting calls for actors where it is false while a Prepare
// of b is pending over a.
func SameOwner(a, b *Table, actorType, actorID string) bool {
	ha, _ := a.Owner(actorType, actorID)
	hb, _ := b.Owner(actorType, actorID)
	return ha == hb
}

// sameMembers reports whether a and b have the same members, so every actor has the
// same owner in both.
func sameMembers(a, b *Table) bool {
	return slices.EqualFunc(a.Members(), b.Members(), func(x, y Member) bool {
		return x.Name == y.Name && x.AppID == y.AppID && slices.Equal(x.Entities, y.Entities)
	})
}
