package storetest

import (
	"context"
	"testing"

	"github.com/troupe-dev/troupe/components"
)

// benchValue is the size of a typical small actor state value.
var benchValue = []byte(`{"name":"hobbit","food":"second breakfast","count":42}`)

// Benchmark measures the store's hot paths: Get of an existing key, and a one-op Transact
// without and with a fence (as the actor runtime writes).
func Benchmark(b *testing.B, s components.Store) {
	ctx := context.Background()
	key := b.Name() + "||app||type||id||state"
	Upsert(b, s, key, benchValue)

	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.Get(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})

	txn := components.Txn{Ops: []components.Op{{Key: key, Value: benchValue}}}
	b.Run("Transact1", func(b *testing.B) { benchTransact(b, s, txn) })

	txn.Fence = &components.Fence{Key: b.Name() + "||fence", Token: 1}
	b.Run("Transact1Fenced", func(b *testing.B) { benchTransact(b, s, txn) })
}

func benchTransact(b *testing.B, s components.Store, txn components.Txn) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Transact(ctx, txn); err != nil {
			b.Fatal(err)
		}
	}
}
