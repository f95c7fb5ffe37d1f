package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// maxAnswerBytes bounds how much of an answer is read; every real answer is far smaller.
	maxAnswerBytes = 64 << 10

	// maxIdleConns is how many keep-alive connections the client keeps open. Users beyond
	// it still work but open and close connections.
	maxIdleConns = 1024

	// dialTimeout bounds connection setup, so a target that drops packets shows up as an
	// error well before the request timeout.
	dialTimeout = 5 * time.Second
)

// exchange is what a caller reuses from one request to the next: the body to send, the
// request as written, and the answer as read and as decoded.
type exchange struct {
	body    []byte
	request []byte
	raw     bytes.Buffer
	answer  answer
	limit   io.LimitedReader
}

// client calls the ArtifactState API at one target and nowhere else: no proxy, and a
// redirect is an answer like any other. It speaks HTTP/1.1 over a pool of keep-alive
// connections itself, since net/http's client hands each request between three goroutines
// and the tool's CPU is taken from the target it measures when both share a machine.
type client struct {
	addr    string      // host:port to dial
	tls     *tls.Config // nil for http
	timeout time.Duration
	heads   [numOps][]byte // each request up to the value of Content-Length

	// mu guards idle.
	mu   sync.Mutex
	idle []*conn
}

// conn is one connection to the target.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	reused bool // it served a request before
}

// newClient returns a client of the API below target, a URL that validateTarget accepted.
func newClient(target string, timeout time.Duration) *client {
	u, err := url.Parse(target)
	if err != nil {
		panic("loadgen: unvalidated target: " + err.Error())
	}

	c := &client{addr: u.Host, timeout: timeout}
	if u.Port() == "" {
		c.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	if u.Scheme == "https" {
		c.tls = &tls.Config{ServerName: u.Hostname()}
		if u.Port() == "" {
			c.addr = net.JoinHostPort(u.Hostname(), "443")
		}
	}

	prefix := strings.TrimSuffix(u.EscapedPath(), "/") + apiPrefix
	for o := range numOps {
		c.heads[o] = fmt.Appendf(nil, "POST %s%s HTTP/1.1\r\nHost: %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: ", prefix, o, u.Host)
	}
	return c
}

// close closes the idle connections.
func (c *client) close() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()

	for _, cn := range idle {
		cn.nc.Close()
	}
}

// call POSTs x.body to endpoint o and decodes the answer into x. It returns a *callError for
// a transport problem, a status other than 200 or an answer that is not JSON.
//
// A request whose connection turns out to be closed before any answer arrived is sent once
// more on a new connection: the target may close idle connections at any time, and every
// endpoint of the API is idempotent.
func (c *client) call(ctx context.Context, o op, x *exchange) error {
	x.request = strconv.AppendInt(append(x.request[:0], c.heads[o]...), int64(len(x.body)), 10)
	x.request = append(append(x.request, "\r\n\r\n"...), x.body...)

	for attempt := 0; ; attempt++ {
		// A retry dials: the other idle connections may have been closed as well.
		cn, err := c.get(ctx, attempt == 0)
		if err != nil {
			return &callError{kind: transportKind(err), err: err}
		}

		status, keep, err := c.roundTrip(ctx, cn, x)
		if err == nil {
			c.put(cn, keep)
			return checkAnswer(status, x)
		}

		cn.nc.Close()
		if !(cn.reused && attempt == 0 && errors.Is(err, errNoAnswer)) {
			return &callError{kind: transportKind(err), err: err}
		}
	}
}

// errNoAnswer is a connection that ended before any byte of an answer arrived.
var errNoAnswer = errors.New("connection closed before an answer")

// noAnswer marks err, which came before any byte of an answer, with errNoAnswer unless it is
// a timeout: a target that is slow must not get the request twice.
func noAnswer(err error) error {
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return err
	}
	return fmt.Errorf("%w: %w", errNoAnswer, err)
}

// roundTrip sends x.request on cn and reads the answer into x.raw, within the timeout and
// until ctx ends. It returns the status and whether cn may serve another request.
func (c *client) roundTrip(ctx context.Context, cn *conn, x *exchange) (int, bool, error) {
	_ = cn.nc.SetDeadline(time.Now().Add(c.timeout))
	stop := context.AfterFunc(ctx, func() { _ = cn.nc.SetDeadline(time.Unix(1, 0)) })

	status, keep, err := exchangeOn(cn, x)
	if !stop() {
		keep = false // ctx ended and its deadline may hit the connection's next request
	}
	return status, keep, err
}

// exchangeOn writes x.request on cn and reads the answer into x.raw.
func exchangeOn(cn *conn, x *exchange) (status int, keep bool, err error) {
	if _, err := cn.nc.Write(x.request); err != nil {
		return 0, false, noAnswer(fmt.Errorf("write: %w", err))
	}
	if _, err := cn.br.Peek(1); err != nil {
		return 0, false, noAnswer(err)
	}

	resp, err := http.ReadResponse(cn.br, nil)
	if err != nil {
		return 0, false, fmt.Errorf("read answer: %w", err)
	}

	// The body needs no Close: it is either read to its end or left on a connection that
	// is then closed.
	x.raw.Reset()
	x.limit = io.LimitedReader{R: resp.Body, N: maxAnswerBytes + 1}
	_, err = x.raw.ReadFrom(&x.limit)
	x.limit.R = nil
	switch {
	case err != nil:
		return 0, false, fmt.Errorf("read answer: %w", err)
	case x.raw.Len() > maxAnswerBytes:
		return resp.StatusCode, false, nil // checkAnswer reports it
	}
	return resp.StatusCode, !resp.Close, nil
}

// checkAnswer checks the status and decodes the answer in x.raw into x.answer.
func checkAnswer(status int, x *exchange) error {
	if x.raw.Len() > maxAnswerBytes {
		return &callError{kind: "answer too large",
			err: fmt.Errorf("answer exceeds %d bytes", maxAnswerBytes)}
	}
	if status != http.StatusOK {
		return &callError{kind: "status " + strconv.Itoa(status),
			err: fmt.Errorf("status %d: %s", status, snippet(x.raw.Bytes()))}
	}

	x.answer = answer{}
	if err := json.Unmarshal(x.raw.Bytes(), &x.answer); err != nil {
		return &callError{kind: kindNotJSON,
			err: fmt.Errorf("%w: %s", err, snippet(x.raw.Bytes()))}
	}
	return nil
}

// get returns an idle connection, if idleOK and there is one, or a new one.
func (c *client) get(ctx context.Context, idleOK bool) (*conn, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 && idleOK {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()

	return c.dial(ctx)
}

// put returns cn to the idle connections when keep is true, and closes it otherwise.
func (c *client) put(cn *conn, keep bool) {
	cn.reused = true

	c.mu.Lock()
	if keep && len(c.idle) < maxIdleConns {
		c.idle = append(c.idle, cn)
		cn = nil
	}
	c.mu.Unlock()

	if cn != nil {
		cn.nc.Close()
	}
}

// dial opens a connection to the target.
func (c *client) dial(ctx context.Context) (*conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}

	if c.tls != nil {
		tc := tls.Client(nc, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// kindNotJSON is the kind of error of an answer that does not parse.
const kindNotJSON = "answer is not JSON"

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
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
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
