package grpcapi

import (
	"context"
	"testing"

	"github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGoSDKEndToEnd drives the API with go-sdk v1.11.0's client, with an API token as
// DAPR_API_TOKEN sets it. The app's "inc" method itself uses the SDK to read and save state
// inside the actor's turn, as SDK actors do.
func TestGoSDKEndToEnd(t *testing.T) {
	const token = "sdk-token"
	t.Setenv("DAPR_API_TOKEN", token)
	h := newHarness(t, func(o *Options) { o.Token = token })

	sdk, err := client.NewClientWithAddress(h.addr)
	require.NoError(t, err)
	t.Cleanup(sdk.Close)
	h.app.setSDK(sdk)
	ctx := context.Background()

	for _, want := range []string{"1", "2"} {
		resp, err := sdk.InvokeActor(ctx, &client.InvokeActorRequest{
			ActorType: "counter", ActorID: "sdk", Method: "inc",
		})
		require.NoError(t, err)
		assert.Equal(t, want, string(resp.Data))
	}
	rdb := h.redis.Client()
	assert.Equal(t, "2", rdb.HGet(ctx, stateKey("counter", "sdk", "count"), "data").Val())

	raw := []byte(`{ "kept" : "as is" }`)
	err = sdk.SaveStateTransactionally(ctx, "counter", "sdk", []*client.ActorStateOperation{
		{OperationType: "upsert", Key: "doc", Value: raw},
		{OperationType: "delete", Key: "count"},
	})
	require.NoError(t, err)

	got, err := sdk.GetActorState(ctx, &client.GetActorStateRequest{
		ActorType: "counter", ActorID: "sdk", KeyName: "doc",
	})
	require.NoError(t, err)
	assert.Equal(t, raw, got.Data)

	got, err = sdk.GetActorState(ctx, &client.GetActorStateRequest{
		ActorType: "counter", ActorID: "sdk", KeyName: "count",
	})
	require.NoError(t, err, "a deleted key reads as empty, not an error")
	assert.Empty(t, got.Data)
}
