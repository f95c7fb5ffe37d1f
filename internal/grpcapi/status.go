package grpcapi

import (
	"errors"

	"google.golang.org/grpc/status"

	"github.com/troupe-dev/troupe/internal/apierr"
)

// toStatus translates err to a gRPC status error through the apierr table; the message is
// the text HTTP clients get. A status error that is not an API error (say from a remote
// sidecar) passes through, and anything else is ERROR (Internal).
func toStatus(err error) error {
	if err == nil {
		return nil
	}

	var apiErr *apierr.Error
	if errors.As(err, &apiErr) {
		return status.Error(apiErr.Kind.GRPCCode, apiErr.Message)
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	return status.Error(apierr.Unknown.GRPCCode, err.Error())
}
