package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// op is one endpoint of the ArtifactState API.
type op int

const (
	opSetRead op = iota
	opIsRead
	opAddToFeed
	opIsInFeed
	opRemoveFromFeed
	opGetAllStates
	numOps
)

// opNames are the endpoint names, which are also the request names of the reports.
var opNames = [numOps]string{
	opSetRead:        "setArtifactReadByUser",
	opIsRead:         "isArtifactReadByUser",
	opAddToFeed:      "setArtifactAddedToUserFeed",
	opIsInFeed:       "isArtifactInUserFeed",
	opRemoveFromFeed: "setArtifactRemovedFromUserFeed",
	opGetAllStates:   "getAllStates",
}

// String returns the endpoint name.
func (o op) String() string { return opNames[o] }

const (
	// apiPrefix is the path of the ArtifactState API below the target URL.
	apiPrefix = "/artifactState/"

	// maxAnswerBytes bounds how much of an answer is read; every real answer is far smaller.
	maxAnswerBytes = 64 << 10

	// idleConnsPerHost is how many keep-alive connections the client keeps open. Virtual
	// users beyond it still work but may open and close connections.
	idleConnsPerHost = 1024

	// dialTimeout bounds connection setup, so a target that drops packets shows up as an
	// error well before the request timeout.
	dialTimeout = 5 * time.Second
)

// answer is the union of the API's answer shapes. A nil field was absent.
type answer struct {
	Success            *bool   `json:"success"`
	ArtifactID         *int64  `json:"artifactId"`
	UserID             *string `json:"userId"`
	Answer             *bool   `json:"answer"`
	ArtifactRead       *bool   `json:"artifactRead"`
	ArtifactInUserFeed *bool   `json:"artifactInUserFeed"`
}

// client calls the ArtifactState API at one target and nowhere else.
type client struct {
	http *http.Client
	urls [numOps]string
}

// newClient returns a client for the API below target, sharing keep-alive connections among
// all callers.
func newClient(target string, timeout time.Duration) *client {
	transport := &http.Transport{
		// No Proxy: requests go to the target itself, whatever HTTP_PROXY says.
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		MaxIdleConns:        idleConnsPerHost,
		MaxIdleConnsPerHost: idleConnsPerHost,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}

	c := &client{http: &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect would send load to an address the person did not name.
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
	base := strings.TrimSuffix(target, "/") + apiPrefix
	for o := range numOps {
		c.urls[o] = base + o.String()
	}
	return c
}

// close drops the idle connections.
func (c *client) close() {
	c.http.CloseIdleConnections()
}

// call POSTs body to endpoint o and decodes the answer into a, reading it through buf.
// It returns a *callError for a transport problem, a status other than 200 or an answer that
// is not JSON.
func (c *client) call(ctx context.Context, o op, body []byte, buf *bytes.Buffer, a *answer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.urls[o], bytes.NewReader(body))
	if err != nil {
		return &callError{kind: "invalid request", err: err}
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		return &callError{kind: transportKind(err), err: err}
	}
	defer resp.Body.Close()

	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswerBytes+1)); err != nil {
		return &callError{kind: transportKind(err), err: fmt.Errorf("read answer: %w", err)}
	}
	if buf.Len() > maxAnswerBytes {
		return &callError{kind: "answer too large", err: fmt.Errorf("answer exceeds %d bytes",
			maxAnswerBytes)}
	}

	if resp.StatusCode != http.StatusOK {
		return &callError{kind: "status " + strconv.Itoa(resp.StatusCode),
			err: fmt.Errorf("status %d: %s", resp.StatusCode, snippet(buf.Bytes()))}
	}

	*a = answer{}
	if err := json.Unmarshal(buf.Bytes(), a); err != nil {
		return &callError{kind: "answer is not JSON",
			err: fmt.Errorf("%w: %s", err, snippet(buf.Bytes()))}
	}
	return nil
}

// callError is a request that got no usable answer. Kind groups errors for the summary
// ("status 503", "connection refused"); err says what happened to this request.
type callError struct {
	kind string
	err  error
}

func (e *callError) Error() string { return e.kind + ": " + e.err.Error() }

func (e *callError) Unwrap() error { return e.err }

// transportKind names the kind of a transport error.
func transportKind(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by target"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	default:
		return "transport error"
	}
}

// snippet returns the start of an answer body, quoted, for error messages.
func snippet(b []byte) string {
	const n = 80
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "..."
	}
	return strconv.Quote(string(b))
}
