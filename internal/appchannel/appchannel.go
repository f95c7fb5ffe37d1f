// Package appchannel is the sidecar's HTTP client for the app: it waits for the app's port,
// reads its actor configuration, and delivers method, reminder, timer and deactivation calls
// as the Dapr app callback contract describes. One Channel keeps a pool of keep-alive
// connections, so no call dials the app.
package appchannel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config configures a Channel.
type Config struct {
	// Address is the app's host:port.
	Address string

	// AppID is sent as dapr-app-id when the config is read.
	AppID string

	// Token, when not empty, is sent to the app as dapr-api-token on every call but the
	// health probe (APP_API_TOKEN).
	Token string

	// MaxBodySize bounds the bodies read from the app.
	MaxBodySize int64

	// MaxConns bounds the idle connections kept to the app; it should be at least the
	// number of calls expected in parallel, or calls beyond it dial and drop a connection
	// each (0 means DefaultMaxConns).
	MaxConns int

	// Inject, when set, writes the trace context of a call's ctx into the request to the
	// app (traceparent, tracestate), replacing the caller's.
	Inject func(ctx context.Context, h http.Header)
}

// DefaultMaxConns is the default of Config.MaxConns: enough for the reminder scheduler's
// deliveries in flight, so bursts reuse connections instead of dialling per call.
const DefaultMaxConns = 4096

// ErrBodyTooLarge means the app answered with a body over the configured limit.
var ErrBodyTooLarge = errors.New("appchannel: response body too large")

// Channel calls the app. It is safe for concurrent use.
type Channel struct {
	cfg    Config
	base   string
	client *http.Client
}

// New returns a channel to the app described by cfg.
func New(cfg Config) *Channel {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.MaxConns,
		MaxIdleConnsPerHost: cfg.MaxConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Channel{
		cfg:    cfg,
		base:   "http://" + cfg.Address,
		client: &http.Client{Transport: transport},
	}
}

// Address is the app's host:port.
func (c *Channel) Address() string { return c.cfg.Address }

// Close drops the channel's idle connections.
func (c *Channel) Close() { c.client.CloseIdleConnections() }

// WaitForPort blocks until the app accepts TCP connections or ctx ends, dialling every
// 100 ms as daprd does.
func (c *Channel) WaitForPort(ctx context.Context) error {
	dialer := net.Dialer{Timeout: 500 * time.Millisecond}
	for {
		conn, err := dialer.DialContext(ctx, "tcp", c.cfg.Address)
		if err == nil {
			conn.Close()
			return nil
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for app port %s: %w", c.cfg.Address, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Config reads GET /dapr/config and returns its body. A status other than 200 is an error;
// the caller treats it as "hosts nothing", as daprd does.
func (c *Channel) Config(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/dapr/config", nil)
	if err != nil {
		return nil, fmt.Errorf("building config request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("dapr-app-id", c.cfg.AppID)
	c.setToken(req.Header)

	resp, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("reading app config: %w", err)
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("reading app config: status %d", resp.Status)
	}
	return resp.Body, nil
}

// Healthy probes GET /healthz; only a 200 counts.
func (c *Channel) Healthy(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := c.do(req)
	return err == nil && resp.Status == http.StatusOK
}

// Request is a call to deliver to an actor on the app.
type Request struct {
	ActorType string
	ActorID   string

	// Path is what follows /actors/{type}/{id}/method/, e.g. "Inc", "remind/r1" or
	// "timer/t1". It is sent as given (escape it first if it holds user input).
	Path string

	Body        []byte
	ContentType string

	// Query is the raw query string to append, without "?".
	Query string

	// Header holds headers to pass through to the app; it may be nil. The channel adds
	// its own (content type, token) and does not modify the map.
	Header http.Header
}

// Response is the app's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Invoke delivers r to PUT /actors/{type}/{id}/method/{path}. Any answer the app sends is
// returned without error; the caller decides what counts as success (only 200 does).
func (c *Channel) Invoke(ctx context.Context, r *Request) (*Response, error) {
	target := c.actorURL(r.ActorType, r.ActorID) + "/method/" + r.Path
	if r.Query != "" {
		target += "?" + r.Query
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(r.Body))
	if err != nil {
		return nil, fmt.Errorf("building actor request: %w", err)
	}
	copyRequestHeaders(req.Header, r.Header)
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	c.setToken(req.Header)
	c.inject(ctx, req.Header)

	return c.do(req)
}

// Deactivate sends DELETE /actors/{type}/{id}. A status other than 200 is an error.
func (c *Channel) Deactivate(ctx context.Context, actorType, actorID string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete,
		c.actorURL(actorType, actorID), nil)
	if err != nil {
		return fmt.Errorf("building deactivation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.setToken(req.Header)
	c.inject(ctx, req.Header)

	resp, err := c.do(req)
	if err != nil {
		return fmt.Errorf("deactivating %s/%s: %w", actorType, actorID, err)
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("deactivating %s/%s: app answered %d", actorType, actorID, resp.Status)
	}
	return nil
}

func (c *Channel) actorURL(actorType, actorID string) string {
	return c.base + "/actors/" + url.PathEscape(actorType) + "/" + url.PathEscape(actorID)
}

func (c *Channel) setToken(h http.Header) {
	if c.cfg.Token != "" {
		h.Set("dapr-api-token", c.cfg.Token)
	}
}

func (c *Channel) inject(ctx context.Context, h http.Header) {
	if c.cfg.Inject != nil {
		c.cfg.Inject(ctx, h)
	}
}

// do sends req and reads the whole answer, bounded by MaxBodySize.
func (c *Channel) do(req *http.Request) (*Response, error) {
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	body, err := readBounded(resp.Body, c.cfg.MaxBodySize)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

func readBounded(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		return io.ReadAll(r)
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading app response: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, limit)
	}
	return body, nil
}

// copyRequestHeaders copies the caller's headers that the app should see: all of them
// except those the sidecar owns or that only made sense on the caller's hop.
func copyRequestHeaders(dst, src http.Header) {
	for name, values := range src {
		if skipRequestHeader(name) {
			continue
		}
		dst[name] = values
	}
}

func skipRequestHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Dapr-Api-Token", "Content-Type", "Content-Length", "Destination-App-Id",
		"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Te",
		"Trailer", "Upgrade", "Accept-Encoding", "X-Troupe-Hops":
		return true
	}
	return strings.HasSuffix(strings.ToLower(name), "-bin")
}

// SkipResponseHeader reports whether an app response header stays on the app's hop rather
// than being copied to the caller.
func SkipResponseHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Trailer",
		"Upgrade", "Date":
		return true
	}
	return false
}
