package storetest

import (
	"context"
	"testing"

	"github.com/troupe-dev/troupe/components"
)

// benchValue is the size of a typical small actor state value.
var benchValue = []byte(`{"name":"hobbit","food":"second breakfast","count":42}`)

// Benchmark measures the store's hot paths: Get of an existing key and a one-op Transact.
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

	b.Run("Transact1", func(b *testing.B) {
		txn := components.Txn{Ops: []components.Op{{Key: key, Value: benchValue}}}
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Transact(ctx, txn); err != nil {
				b.Fatal(err)
			}
		}
	})
}
