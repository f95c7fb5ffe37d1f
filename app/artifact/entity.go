// Package artifact is a Go port of the Akka Cluster sharding demo that tracks, for each
// (artifact, user) pair, whether the user has read the artifact and whether it sits in the
// user's feed. Each pair is one Dapr virtual actor of type ArtifactState; the program
// hosts those actors behind a Dapr-compatible sidecar (daprd or troupe's) and serves the
// demo's public HTTP API, which calls the actors through the same sidecar.
//
// Run starts two HTTP servers. Tests and launchers can run it in-process with ports 0 and
// read the bound addresses from Options.Ready.
//
// The public API (Options.HTTPPort) has six endpoints under /artifactState/. The queries
// isArtifactReadByUser, isArtifactInUserFeed and getAllStates take GET with query
// parameters artifactId and userId, or POST with {"artifactId":<int>,"userId":"<str>"};
// the commands setArtifactReadByUser, setArtifactAddedToUserFeed and
// setArtifactRemovedFromUserFeed take POST only. Bad input answers 400 (405 for a wrong
// verb), a failing sidecar 502 (504 on timeout), always as {"errorCode","message"}.
//
// The callback server (Options.AppPort) speaks Dapr's app callback contract:
// GET /dapr/config, PUT /actors/ArtifactState/{id}/method/{method},
// DELETE /actors/ArtifactState/{id} and GET /healthz. It also serves
// GET /debug/activations[?actorId=id], the ActivationReport of this process, which lets
// cluster tests check that an actor was never active in two processes at once.
package artifact

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ActorType is the Dapr actor type this program hosts.
const ActorType = "ArtifactState"

// MaxUserIDLen bounds a user id in bytes. Escaping can triple it, and actor ids end up in
// URLs and state-store keys, so an unbounded id would fail somewhere far less clearly.
const MaxUserIDLen = 1024

// idSeparator joins the artifact id and the escaped user id. A decimal artifact id never
// contains it, so the first separator in an actor id always ends the artifact id.
const idSeparator = '_'

// escapeMark starts a two-digit upper-case hex escape in the user part of an actor id.
const escapeMark = '~'

const hexDigits = "0123456789ABCDEF"

// Entity names one (artifact, user) pair: the unit of state and of actor identity.
type Entity struct {
	// ArtifactID is non-negative; ParseActorID and the API reject negative ids.
	ArtifactID int64
	// UserID is non-empty and at most MaxUserIDLen bytes. Any bytes are allowed.
	UserID string
}

// ActorID returns the entity's actor id: the decimal artifact id, '_', then the user id
// with every byte other than ASCII letters, digits, '-', '.' and '_' written as '~' and
// two upper-case hex digits. The id uses only URL-unreserved characters, so it needs no
// percent-encoding and every router sees the same string, and distinct entities always
// get distinct ids: (1,"23") is "1_23" while (12,"3") is "12_3".
//
// Percent-encoding (url.PathEscape) is deliberately not used: daprd routes on the raw
// path while Go routers decode it, so an id holding '%' can name two different actors.
func (e Entity) ActorID() string {
	var b strings.Builder
	b.Grow(20 + len(e.UserID) + len(e.UserID)/2)

	b.WriteString(strconv.FormatInt(e.ArtifactID, 10))
	b.WriteByte(idSeparator)
	for i := 0; i < len(e.UserID); i++ {
		c := e.UserID[i]
		if isPlainIDByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(escapeMark)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0x0f])
	}

	return b.String()
}

// Validate reports the first reason e cannot name an actor, in words a client can act on.
func (e Entity) Validate() error {
	switch {
	case e.ArtifactID < 0:
		return fmt.Errorf("artifactId must be a non-negative integer, got %d", e.ArtifactID)
	case e.UserID == "":
		return errors.New("userId must not be empty")
	case len(e.UserID) > MaxUserIDLen:
		return fmt.Errorf("userId is %d bytes long, the limit is %d", len(e.UserID), MaxUserIDLen)
	}
	return nil
}

// ParseActorID is the inverse of Entity.ActorID. It accepts only ids that ActorID
// produces, byte for byte, so each accepted id names exactly one entity.
func ParseActorID(id string) (Entity, error) {
	artifactPart, userPart, found := strings.Cut(id, string(idSeparator))
	if !found {
		return Entity{}, fmt.Errorf("actor id %q has no %q separator", id, idSeparator)
	}

	artifactID, err := parseArtifactID(artifactPart)
	if err != nil {
		return Entity{}, fmt.Errorf("actor id %q: %w", id, err)
	}

	userID, err := unescapeUserID(userPart)
	if err != nil {
		return Entity{}, fmt.Errorf("actor id %q: %w", id, err)
	}

	e := Entity{ArtifactID: artifactID, UserID: userID}
	if err := e.Validate(); err != nil {
		return Entity{}, fmt.Errorf("actor id %q: %w", id, err)
	}
	return e, nil
}

// parseArtifactID parses a canonical non-negative decimal: no sign, no leading zeros.
func parseArtifactID(s string) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' || (s[0] == '0' && len(s) > 1) {
		return 0, fmt.Errorf("artifact part %q is not a canonical non-negative integer", s)
	}

	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("artifact part %q: %w", s, err)
	}
	return n, nil
}

// unescapeUserID reverses the escaping in Entity.ActorID and rejects any other spelling
// (raw bytes that should be escaped, lower-case hex, escapes of plain bytes).
func unescapeUserID(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))

	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPlainIDByte(c) {
			b.WriteByte(c)
			continue
		}
		if c != escapeMark {
			return "", fmt.Errorf("byte %q at offset %d must be escaped", c, i)
		}

		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape at offset %d", i)
		}
		hi, lo := hexValue(s[i+1]), hexValue(s[i+2])
		decoded := byte(hi<<4 | lo)
		if hi < 0 || lo < 0 || isPlainIDByte(decoded) {
			return "", fmt.Errorf("invalid escape %q at offset %d", s[i:i+3], i)
		}
		b.WriteByte(decoded)
		i += 2
	}

	return b.String(), nil
}

// isPlainIDByte reports whether c appears unescaped in the user part of an actor id.
func isPlainIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_'
}

// hexValue returns the value of an upper-case hex digit, or -1.
func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// State is what one actor stores under the state key "state". Its zero value is the
// state of an entity that was never written.
type State struct {
	ArtifactRead       bool `json:"artifactRead"`
	ArtifactInUserFeed bool `json:"artifactInUserFeed"`
}
