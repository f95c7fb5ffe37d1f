package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/troupe-dev/troupe/components"
)

// Operation label values of troupe_state_operations_total.
const (
	opGet      = "get"
	opTransact = "transact"
)

// WrapStore returns store with Get and Transact traced and measured. system names the
// store for db.system.name (e.g. "redis", "sqlite").
func (t *Telemetry) WrapStore(store components.Store, system string) components.Store {
	if t.off() {
		return store
	}
	return &tracedStore{Store: store, t: t, system: semconv.DBSystemNameKey.String(system)}
}

// tracedStore decorates a Store; Ping and Close pass through.
type tracedStore struct {
	components.Store
	t      *Telemetry
	system attribute.KeyValue
}

func (s *tracedStore) Get(ctx context.Context, key string) (components.Item, bool, error) {
	start := time.Now()
	var span trace.Span
	if s.t.traces(ctx) {
		ctx, span = s.t.Tracing.start(ctx, SpanStateGet, trace.SpanKindClient,
			s.system, semconv.DBOperationNameKey.String(opGet))
	}

	item, found, err := s.Store.Get(ctx, key)

	s.t.metrics().stateOp(opGet, err, time.Since(start))
	if span != nil {
		endSpan(span, err)
	}
	return item, found, err
}

func (s *tracedStore) Transact(ctx context.Context, txn components.Txn) error {
	start := time.Now()
	var span trace.Span
	if s.t.traces(ctx) {
		ctx, span = s.t.Tracing.start(ctx, SpanStateTxn, trace.SpanKindClient,
			s.system, semconv.DBOperationNameKey.String(opTransact),
			semconv.DBOperationBatchSizeKey.Int(len(txn.Ops)))
	}

	err := s.Store.Transact(ctx, txn)

	s.t.metrics().stateOp(opTransact, err, time.Since(start))
	if span != nil {
		endSpan(span, err)
	}
	return err
}
