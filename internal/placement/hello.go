package placement

import (
	"net"
	"slices"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/troupe-dev/troupe/internal/placementpb"
)

// Limits on what a Hello may carry; generous for real sidecars, tight enough that a
// broken or hostile one cannot bloat every table.
const (
	maxNameLen    = 255
	maxEntities   = 1024
	maxVersion    = 1 << 62 // versions above this could wrap; no real cluster gets there
	maxEntityName = 255
)

// validateHello checks a Hello before it may join; the error is a gRPC status.
func validateHello(h *pb.Hello) error {
	if v := h.GetProtocolVersion(); v != pb.ProtocolVersion {
		return status.Errorf(codes.FailedPrecondition,
			"unsupported protocol version %d; placement speaks %d", v, pb.ProtocolVersion)
	}
	if err := validateName(h.GetName()); err != nil {
		return err
	}
	if h.GetAppId() == "" {
		return status.Error(codes.InvalidArgument, "hello has no app_id")
	}
	if err := validateEntities(h.GetEntities()); err != nil {
		return err
	}
	if h.GetLastTableVersion() > maxVersion {
		return status.Errorf(codes.InvalidArgument,
			"last_table_version %d is out of range", h.GetLastTableVersion())
	}
	return nil
}

func validateName(name string) error {
	if name == "" {
		return status.Error(codes.InvalidArgument, "hello has no name")
	}
	if len(name) > maxNameLen {
		return status.Errorf(codes.InvalidArgument, "name is longer than %d bytes", maxNameLen)
	}

	host, port, err := net.SplitHostPort(name)
	if err != nil || host == "" {
		return status.Errorf(codes.InvalidArgument, "name %q is not host:port", name)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return status.Errorf(codes.InvalidArgument, "name %q has an invalid port", name)
	}
	return nil
}

func validateEntities(entities []string) error {
	if len(entities) > maxEntities {
		return status.Errorf(codes.InvalidArgument, "more than %d entities", maxEntities)
	}
	for _, e := range entities {
		if e == "" || len(e) > maxEntityName {
			return status.Errorf(codes.InvalidArgument,
				"entity names must have 1 to %d bytes", maxEntityName)
		}
	}
	return nil
}

// memberFromHello builds the member record of a validated Hello.
func memberFromHello(h *pb.Hello) Member {
	entities := slices.Clone(h.GetEntities())
	slices.Sort(entities)
	return Member{
		Name:     h.GetName(),
		AppID:    h.GetAppId(),
		Entities: slices.Compact(entities),
	}
}
