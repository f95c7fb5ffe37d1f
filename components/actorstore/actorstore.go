// Package actorstore chooses and opens the actor state store from the loaded components:
// the state.redis component marked actorStateStore, or the embedded SQLite store when there
// is none. It is separate from package components because the stores import that package.
package actorstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/redisstore"
	"github.com/troupe-dev/troupe/components/sqlitestore"
)

const (
	// MetadataActorStateStore is the component metadata that marks the actor store.
	MetadataActorStateStore = "actorStateStore"

	// TypeRedis is the only component type that can be the actor store.
	TypeRedis = "state.redis"

	// KindEmbedded is Description.Kind for the embedded SQLite store.
	KindEmbedded = "embedded sqlite"
)

// Description says which actor store is in use, for a log line.
type Description struct {
	// Kind is the component type ("state.redis") or KindEmbedded.
	Kind string

	// Component is the component's name; empty for the embedded store.
	Component string

	// Location is the Redis host:port or the SQLite file.
	Location string
}

// String renders d as "state.redis component statestore at localhost:6379".
func (d Description) String() string {
	if d.Component == "" {
		return d.Kind + " at " + d.Location
	}
	return fmt.Sprintf("%s component %s at %s", d.Kind, d.Component, d.Location)
}

// Open opens the actor store that comps choose and pings it: the one component whose
// actorStateStore metadata is "true", which must be state.redis, or, when none is, the
// embedded SQLite store at embeddedPath. The caller closes the store.
func Open(ctx context.Context, comps []components.Component, embeddedPath string) (
	components.Store, Description, error) {

	comp, err := find(comps)
	if err != nil {
		return nil, Description{}, err
	}

	var (
		store components.Store
		desc  Description
	)
	if comp == nil {
		store, desc, err = openEmbedded(embeddedPath)
	} else {
		store, desc, err = openRedis(*comp)
	}
	if err != nil {
		return nil, Description{}, err
	}

	if err := store.Ping(ctx); err != nil {
		_ = store.Close()
		return nil, Description{}, fmt.Errorf("actor state store %s: %w", desc, err)
	}
	return store, desc, nil
}

// find returns the component marked as the actor store, or nil when there is none.
func find(comps []components.Component) (*components.Component, error) {
	var found *components.Component
	for i, c := range comps {
		v, _ := c.MetadataValue(MetadataActorStateStore)
		if !strings.EqualFold(strings.TrimSpace(v), "true") {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("components %q and %q are both marked %s; only one may be",
				found.Name, c.Name, MetadataActorStateStore)
		}
		found = &comps[i]
	}
	return found, nil
}

func openEmbedded(path string) (components.Store, Description, error) {
	if path == "" {
		return nil, Description{}, errors.New(
			"no component is marked actorStateStore and no embedded store path is set")
	}

	s, err := sqlitestore.Open(path)
	if err != nil {
		return nil, Description{}, fmt.Errorf("embedded actor state store: %w", err)
	}
	return s, Description{Kind: KindEmbedded, Location: path}, nil
}

func openRedis(c components.Component) (components.Store, Description, error) {
	if c.Type != TypeRedis {
		return nil, Description{}, fmt.Errorf(
			"component %q: unsupported state store type %q for actors (supported: %s)",
			c.Name, c.Type, TypeRedis)
	}
	if c.Version != "" && c.Version != "v1" {
		return nil, Description{}, fmt.Errorf("component %q: unsupported %s version %q (want v1)",
			c.Name, c.Type, c.Version)
	}

	opts, err := redisstore.ParseMetadata(c.Metadata)
	if err != nil {
		return nil, Description{}, fmt.Errorf("component %q: %w", c.Name, err)
	}
	s, err := redisstore.New(opts)
	if err != nil {
		return nil, Description{}, fmt.Errorf("component %q: %w", c.Name, err)
	}
	return s, Description{Kind: TypeRedis, Component: c.Name, Location: opts.Host}, nil
}
