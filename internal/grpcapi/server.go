// Package grpcapi is the sidecar's gRPC front end: the actor RPCs of Dapr's runtime API
// (service dapr.proto.runtime.v1.Dapr) on --dapr-grpc-port, which is what the Dapr SDKs
// call. Like the HTTP API it only translates requests to calls on the actor runtime and
// errors to the status codes of the shared apierr table. Every RPC it does not serve
// answers Unimplemented with a message that names it.
package grpcapi

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/httpapi"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// DefaultMaxBodySize is the largest request message accepted when Options.MaxBodySize is
// not set: 4 MiB, daprd's default.
const DefaultMaxBodySize = 4 << 20

// readinessWait is how long an actor call waits for the runtime to finish starting, as
// daprd's readiness gate does.
const readinessWait = 10 * time.Second

// Options configures the gRPC API.
type Options struct {
	// AppID is this sidecar's app id.
	AppID string

	// Token, when not empty, must come with every call as the dapr-api-token metadata
	// (DAPR_API_TOKEN).
	Token string

	// MaxBodySize bounds a request message (grpc.MaxRecvMsgSize) and the actor data in it;
	// zero means DefaultMaxBodySize.
	MaxBodySize int64

	// Runtime returns the actor runtime, waiting until it is ready or ctx ends. The
	// service keeps the first runtime it returns.
	Runtime func(ctx context.Context) (*actors.Runtime, error)

	// Metadata returns the actor part of GetMetadata.
	Metadata func() httpapi.ActorRuntimeStatus

	// Reminders keeps actor reminders; nil makes the reminder RPCs answer Unimplemented.
	Reminders Reminders

	// Timers keeps actor timers; nil makes the timer RPCs answer Unimplemented.
	Timers Timers

	// Logger receives handler panics; nil means slog.Default().
	Logger *slog.Logger

	// ServerOptions are added to the server New builds, before its own interceptors
	// (telemetry's tracing interceptor, so that its span covers theirs).
	ServerOptions []grpc.ServerOption
}

// Reminders is the part of the actor runtime that keeps reminders. Errors should be
// *apierr.Error values (for example ERR_ACTOR_REMINDER_NON_HOSTED); others are reported as
// ERR_ACTOR_REMINDER_CREATE or _DELETE.
type Reminders interface {
	// RegisterReminder creates or replaces a reminder.
	RegisterReminder(ctx context.Context, r reminders.Request) error

	// UnregisterReminder deletes a reminder; a missing one is not an error.
	UnregisterReminder(ctx context.Context, actorType, actorID, name string) error
}

// Timers is the part of the actor runtime that keeps timers. Errors should be
// *apierr.Error values; others are reported as ERR_ACTOR_TIMER_CREATE or _DELETE.
type Timers interface {
	// RegisterTimer creates or replaces a timer of an active actor.
	RegisterTimer(ctx context.Context, t actors.TimerRequest) error

	// UnregisterTimer deletes a timer; a missing one is not an error.
	UnregisterTimer(ctx context.Context, actorType, actorID, name string) error
}

// Service implements the Dapr runtime API's actor RPCs. Create it with NewService.
type Service struct {
	// Every RPC troupe does not implement answers Unimplemented; unimplemented renames
	// the generated stubs' message to one that names troupe and the RPC.
	runtimev1pb.UnimplementedDaprServer

	opts Options
	log  *slog.Logger

	// rt is the runtime once Options.Runtime has returned it; nil before.
	rt atomic.Pointer[actors.Runtime]
}

var _ runtimev1pb.DaprServer = (*Service)(nil)

// NewService returns the service for opts.
func NewService(opts Options) *Service {
	if opts.MaxBodySize <= 0 {
		opts.MaxBodySize = DefaultMaxBodySize
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{opts: opts, log: log}
}

// New returns a gRPC server that serves the Dapr runtime API for opts: the service with
// its interceptors and message size limit. Start it with Serve on the gRPC API listener.
func New(opts Options) *grpc.Server {
	svc := NewService(opts)
	srv := grpc.NewServer(slices.Concat(opts.ServerOptions, svc.ServerOptions())...)
	svc.Register(srv)
	return srv
}

// ServerOptions returns what a gRPC server needs to host the service correctly: the
// recover, authentication and naming interceptors, the unknown-RPC handler and the
// receive limit. Use it when the service shares a server with others.
func (s *Service) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(s.opts.MaxBodySize)),
		grpc.ChainUnaryInterceptor(s.recoverUnary, s.authenticateUnary, nameUnimplementedUnary),
		grpc.ChainStreamInterceptor(s.recoverStream, s.authenticateStream,
			nameUnimplementedStream),
		grpc.UnknownServiceHandler(unknownRPC),
	}
}

// Register adds the service to srv, which should have been built with ServerOptions.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	runtimev1pb.RegisterDaprServer(srv, s)
}
