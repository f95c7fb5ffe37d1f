package httpapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/apierr"
)

func TestParseTransaction(t *testing.T) {
	ops, err := ParseTransaction([]byte(`[
	  {"operation":"upsert","request":{"key":"a","value":{ "x" : [1, 2] },"etag":"3",
	   "metadata":{"ttlInSeconds":"60"}}},
	  {"Operation":"delete","Request":{"Key":"b"}},
	  {"operation":"upsert","request":{"key":"c"}}
	]`))
	require.NoError(t, err)
	require.Equal(t, []actors.StateOp{
		{Key: "a", Value: []byte(`{"x":[1,2]}`), ETag: "3", TTL: time.Minute},
		{Key: "b", Delete: true},
		{Key: "c", Value: []byte("null")},
	}, ops)
}

func TestParseTransactionRejects(t *testing.T) {
	cases := []struct {
		name string
		body string
		kind apierr.Kind
	}{
		{"empty body", ``, apierr.MalformedRequest},
		{"not json", `{{`, apierr.MalformedRequest},
		{"object not array", `{"operation":"upsert"}`, apierr.MalformedRequest},
		{"trailing data", `[] []`, apierr.MalformedRequest},
		{"numeric ttl", `[{"operation":"upsert","request":{"key":"a",
			"metadata":{"ttlInSeconds":5}}}]`, apierr.MalformedRequest},
		{"unknown op", `[{"operation":"merge","request":{"key":"a"}}]`,
			apierr.ActorStateTransaction},
		{"no request", `[{"operation":"upsert"}]`, apierr.ActorStateTransaction},
		{"no key", `[{"operation":"upsert","request":{"value":1}}]`,
			apierr.ActorStateTransaction},
		{"bad ttl", `[{"operation":"upsert","request":{"key":"a",
			"metadata":{"ttlInSeconds":"soon"}}}]`, apierr.ActorStateTransaction},
		{"huge ttl", `[{"operation":"upsert","request":{"key":"a",
			"metadata":{"ttlInSeconds":"99999999999999"}}}]`, apierr.ActorStateTransaction},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTransaction([]byte(tc.body))
			require.Error(t, err)
			require.Equal(t, tc.kind, apierr.From(err).Kind, err.Error())
		})
	}
}

func FuzzParseTransaction(f *testing.F) {
	f.Add([]byte(`[{"operation":"upsert","request":{"key":"a","value":1}}]`))
	f.Add([]byte(`[{"operation":"delete","request":{"key":"a","etag":"1"}}]`))
	f.Add([]byte(`[{"operation":"upsert","request":{"key":"a","metadata":{"ttlInSeconds":"-1"}}}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := ParseTransaction(body)
		if err != nil {
			kind := apierr.From(err).Kind
			if kind != apierr.MalformedRequest && kind != apierr.ActorStateTransaction {
				t.Fatalf("unexpected error kind %s: %v", kind.Code, err)
			}
			return
		}
		for _, op := range ops {
			if op.Key == "" || op.TTL < 0 || (!op.Delete && op.Value == nil) {
				t.Fatalf("invalid op accepted: %+v", op)
			}
		}
	})
}
