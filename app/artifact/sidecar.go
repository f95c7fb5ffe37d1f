package artifact

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
	"time"
)

// stateKey is the single actor state key each ArtifactState actor uses.
const stateKey = "state"

// maxSidecarReply bounds how much of a sidecar reply is read. Replies here are tens of
// bytes; the bound keeps a confused peer from exhausting memory.
const maxSidecarReply = 1 << 20

// SidecarError is a reply from the sidecar with a status other than the one expected.
type SidecarError struct {
	// Status is the HTTP status the sidecar answered.
	Status int
	// Body is the start of the sidecar's reply body, usually {"errorCode","message"}.
	Body string
}

// Error implements error. It quotes the sidecar's errorCode and message when the body
// has Dapr's error shape, and the raw body otherwise.
func (e *SidecarError) Error() string {
	var body ErrorBody
	if json.Unmarshal([]byte(e.Body), &body) == nil && body.ErrorCode != "" {
		return fmt.Sprintf("sidecar answered %d %s: %s", e.Status, body.ErrorCode, body.Message)
	}
	return fmt.Sprintf("sidecar answered %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// sidecarClient calls the actor endpoints of a Dapr-compatible sidecar's HTTP API. It is
// safe for concurrent use; one client, and so one connection pool, serves the process.
type sidecarClient struct {
	http *http.Client
	// actorsURL is "http://host:port/v1.0/actors/ArtifactState/".
	actorsURL string
	token     string
	timeout   time.Duration
}

// newSidecarClient returns a client for the sidecar at host:port. idleConns is how many
// keep-alive connections to keep: as many as calls expected to be in flight at once, so
// that busy periods do not dial.
func newSidecarClient(host string, port int, token string, idleConns int,
	timeout time.Duration,
) *sidecarClient {
	transport := &http.Transport{
		// Never proxy: the sidecar is a local peer, whatever HTTP_PROXY says.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        idleConns,
		MaxIdleConnsPerHost: idleConns,
		IdleConnTimeout:     90 * time.Second,
	}

	base := "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	return &sidecarClient{
		http:      &http.Client{Transport: transport},
		actorsURL: base + "/v1.0/actors/" + ActorType + "/",
		token:     token,
		timeout:   timeout,
	}
}

// invoke calls method on the actor and returns the actor's reply body.
func (c *sidecarClient) invoke(ctx context.Context, actorID, method string) ([]byte, error) {
	url := c.actorsURL + actorID + "/method/" + method
	return c.do(ctx, http.MethodPut, url, nil, http.StatusOK)
}

// getState reads the actor's state. The actor must be active on this sidecar, which holds
// while one of its methods runs.
func (c *sidecarClient) getState(ctx context.Context, actorID string) (State, error) {
	url := c.actorsURL + actorID + "/state/" + stateKey
	body, err := c.do(ctx, http.MethodGet, url, nil, http.StatusOK, http.StatusNoContent)
	if err != nil {
		return State{}, err
	}

	var s State
	if len(body) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return State{}, fmt.Errorf("decode stored state: %w", err)
	}
	return s, nil
}

// stateOp is one operation of a Dapr actor state transaction.
type stateOp struct {
	Operation string       `json:"operation"`
	Request   stateRequest `json:"request"`
}

type stateRequest struct {
	Key   string `json:"key"`
	Value State  `json:"value"`
}

// saveState writes s as the actor's state in a one-operation transaction.
func (c *sidecarClient) saveState(ctx context.Context, actorID string, s State) error {
	body, err := json.Marshal([1]stateOp{{
		Operation: "upsert",
		Request:   stateRequest{Key: stateKey, Value: s},
	}})
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}

	url := c.actorsURL + actorID + "/state"
	_, err = c.do(ctx, http.MethodPost, url, body, http.StatusOK, http.StatusNoContent)
	return err
}

// do sends one request and returns the reply body when the status is one of ok;
// otherwise a *SidecarError. The body is always drained so the connection is reused.
func (c *sidecarClient) do(ctx context.Context, method, url string, body []byte,
	ok ...int,
) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	req, err := c.newRequest(ctx, method, url, body)
	if err != nil {
		return nil, err
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call sidecar: %w", err)
	}
	defer resp.Body.Close()

	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxSidecarReply))
	if err != nil {
		return nil, fmt.Errorf("read sidecar reply: %w", err)
	}

	for _, status := range ok {
		if resp.StatusCode == status {
			return reply, nil
		}
	}
	return nil, &SidecarError{Status: resp.StatusCode, Body: string(reply)}
}

func (c *sidecarClient) newRequest(ctx context.Context, method, url string, body []byte,
) (*http.Request, error) {
	var reader io.Reader = http.NoBody
	if body != nil {
		reader = bytes.NewReader(body)
	}

	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return nil, fmt.Errorf("build sidecar request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("dapr-api-token", c.token)
	}
	return req, nil
}

// close releases idle connections.
func (c *sidecarClient) close() {
	c.http.CloseIdleConnections()
}

// isTimeout reports whether err means the call ran out of time.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
}
