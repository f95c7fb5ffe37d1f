package grpcapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// tokenKey is the metadata key that carries DAPR_API_TOKEN.
const tokenKey = "dapr-api-token"

// errorInfoDomain is the ErrorInfo domain daprd puts on its authentication errors.
const errorInfoDomain = "dapr.io"

// recoverUnary turns a handler panic into Internal, so no request can crash the sidecar.
func (s *Service) recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (resp any, err error) {
	defer s.recoverTo(info.FullMethod, &err)
	return handler(ctx, req)
}

func (s *Service) recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo,
	handler grpc.StreamHandler) (err error) {
	defer s.recoverTo(info.FullMethod, &err)
	return handler(srv, ss)
}

// recoverTo, deferred, logs a panic and sets *err to Internal in its place.
func (s *Service) recoverTo(method string, err *error) {
	p := recover()
	if p == nil {
		return
	}
	s.log.Error("panic in grpc handler", "rpc", method, "panic", p,
		"stack", string(debug.Stack()))
	*err = status.Error(codes.Internal, "internal error in "+path.Base(method))
}

func (s *Service) authenticateUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	if err := s.checkToken(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Service) authenticateStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo,
	handler grpc.StreamHandler) error {
	if err := s.checkToken(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

// checkToken enforces dapr-api-token when a token is set. Incoming metadata never reaches
// the app (InvokeActor passes only the request's own metadata map), so it needs no strip.
func (s *Service) checkToken(ctx context.Context) error {
	if s.opts.Token == "" {
		return nil
	}
	got := metadata.ValueFromIncomingContext(ctx, tokenKey)
	if len(got) == 0 {
		return unauthenticated("missing api token in request metadata")
	}
	if subtle.ConstantTimeCompare([]byte(got[0]), []byte(s.opts.Token)) != 1 {
		return unauthenticated("authentication error: api token mismatch")
	}
	return nil
}

// unauthenticated builds daprd's answer to a bad token: Unauthenticated "Unauthorized",
// with the reason in an ErrorInfo detail.
func unauthenticated(detail string) error {
	st := status.New(codes.Unauthenticated, http.StatusText(http.StatusUnauthorized))
	withInfo, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason: http.StatusText(http.StatusUnauthorized),
		Domain: errorInfoDomain,
		Metadata: map[string]string{
			"http.code":          strconv.Itoa(http.StatusUnauthorized),
			"http.error_message": detail,
		},
	})
	if err != nil {
		return st.Err()
	}
	return withInfo.Err()
}

// nameUnimplementedUnary gives the generated stubs' Unimplemented answer
// ("method X not implemented") a message that says troupe lacks the RPC. Errors the
// handlers return themselves are left alone.
func nameUnimplementedUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		err = nameUnimplemented(info.FullMethod, err)
	}
	return resp, err
}

func nameUnimplementedStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo,
	handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	if err != nil {
		err = nameUnimplemented(info.FullMethod, err)
	}
	return err
}

func nameUnimplemented(fullMethod string, err error) error {
	name := path.Base(fullMethod)
	st, ok := status.FromError(err)
	if ok && st.Code() == codes.Unimplemented && st.Message() == "method "+name+" not implemented" {
		return notImplemented(name)
	}
	return err
}

// unknownRPC answers calls to RPCs that the v1.14 service does not even declare, such as
// those newer SDKs add.
func unknownRPC(_ any, ss grpc.ServerStream) error {
	fullMethod, _ := grpc.MethodFromServerStream(ss)
	return notImplemented(path.Base(fullMethod))
}

func notImplemented(name string) error {
	return status.Error(codes.Unimplemented, "troupe does not implement Dapr RPC "+name)
}
