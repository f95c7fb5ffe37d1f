package redisstore

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batchTimeout bounds one pipeline of coalesced script runs.
const batchTimeout = 5 * time.Second

// scriptBatcher coalesces concurrent runs of one script into pipelines: the first caller
// sends everything queued meanwhile in one round trip, and the others wait for their
// replies. Under load (actor state writes of many actors, thousands of reminder deliveries
// in flight) this replaces a round trip and a pool connection per write with one per batch;
// alone, a call costs what a plain run costs.
//
// A call whose context ends while it is queued is dropped, never sent: a caller that got an
// error for a write it gave up on must not see that write land afterwards.
type scriptBatcher struct {
	script *redis.Script

	// mu guards queue and flushing.
	mu       sync.Mutex
	queue    []*scriptCall
	flushing bool
}

// scriptCall is one queued run and where its reply goes.
type scriptCall struct {
	ctx   context.Context
	keys  []string
	args  []any
	reply []any
	err   error
	done  chan struct{}
}

// run runs the script with keys and args as part of the next pipeline.
func (b *scriptBatcher) run(ctx context.Context, client *redis.Client, keys []string,
	args ...any) ([]any, error) {
	call := &scriptCall{ctx: ctx, keys: keys, args: args, done: make(chan struct{})}

	b.mu.Lock()
	b.queue = append(b.queue, call)
	if !b.flushing {
		b.flushing = true
		b.flushQueued(ctx, client)
	} else {
		b.mu.Unlock()
	}

	select {
	case <-call.done:
		return call.reply, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// flushQueued sends the queued calls as one batch. It is called with mu held and returns
// with it released. Calls queued meanwhile are flushed by a new goroutine, so the caller
// (which may hold an actor's turn) is not kept flushing other callers' writes.
func (b *scriptBatcher) flushQueued(ctx context.Context, client *redis.Client) {
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()

	ctx = context.WithoutCancel(ctx) // the batch carries other callers' writes too
	b.send(ctx, client, batch)

	b.mu.Lock()
	if len(b.queue) == 0 {
		b.flushing = false
		b.mu.Unlock()
		return
	}
	go b.flushQueued(ctx, client)
}

// send runs batch in one pipeline; a call the server does not know the script for yet
// is run again on its own, which loads it.
func (b *scriptBatcher) send(ctx context.Context, client *redis.Client, batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()

	batch = dropAbandoned(batch)
	if len(batch) == 0 {
		return
	}
	pipe := client.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, c := range batch {
		cmds[i] = b.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	pipe.Exec(ctx) // each command carries its own error

	for i, c := range batch {
		cmd := cmds[i]
		if err := cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			cmd = b.script.Run(ctx, client, c.keys, c.args...)
		}
		c.reply, c.err = cmd.Slice()
		close(c.done)
	}
}

// dropAbandoned returns the calls of batch whose callers still wait, and completes the
// others with their context's error.
func dropAbandoned(batch []*scriptCall) []*scriptCall {
	live := batch[:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	return live
}
