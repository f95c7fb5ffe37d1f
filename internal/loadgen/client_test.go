package loadgen

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKeepAliveConnectionsAreReused(t *testing.T) {
	var opened atomic.Int64
	app := httptest.NewUnstartedServer(NewFakeApp())
	app.Config.ConnState = countNew(&opened)
	app.Start()
	defer app.Close()

	cfg := testConfig(app.URL)
	cfg.Concurrency, cfg.MaxRequests, cfg.Duration = 4, 600, time.Minute

	res := mustRun(t, cfg)
	require.EqualValues(t, 600, res.Total.Count)
	require.Zero(t, res.Total.Errors)
	require.LessOrEqual(t, opened.Load(), int64(1+4), "the probe's and one per user")
}

func TestConnectionsTheTargetClosesAreNotErrors(t *testing.T) {
	t.Run("Connection: close", func(t *testing.T) {
		var opened atomic.Int64
		app := httptest.NewUnstartedServer(NewFakeApp())
		app.Config.ConnState = countNew(&opened)
		app.Config.SetKeepAlivesEnabled(false)
		app.Start()
		defer app.Close()

		res := mustRun(t, testConfig(app.URL))
		require.Zero(t, res.Total.Errors, res.Errors)
		require.EqualValues(t, testUsers*len(sequence), res.Total.Count)
		require.EqualValues(t, 1+res.Total.Count, opened.Load(), "a connection per request")
	})

	t.Run("idle timeout", func(t *testing.T) {
		var opened atomic.Int64
		app := httptest.NewUnstartedServer(NewFakeApp())
		app.Config.ConnState = countNew(&opened)
		app.Config.IdleTimeout = time.Millisecond
		app.Start()
		defer app.Close()

		// Users arrive 5 ms apart; the idle connection a user leaves is closed before the
		// next one takes it, which it notices only when it sends.
		res := mustRun(t, testConfig(app.URL))
		require.Zero(t, res.Total.Errors, res.Errors)
		require.Greater(t, opened.Load(), int64(testUsers/2), "the server closed connections")
	})
}

func TestAnswerFraming(t *testing.T) {
	app := NewFakeApp()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		errors  uint64
		kind    string
	}{
		{
			name: "chunked",
			handler: func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body) // unreadable once the headers are out
				r.Body = io.NopCloser(bytes.NewReader(body))
				w.(http.Flusher).Flush() // headers out before the body: chunked encoding
				app.ServeHTTP(w, r)
			},
		},
		{
			name: "too large",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/isArtifactReadByUser") {
					_, _ = io.WriteString(w, strings.Repeat(" ", 2*maxAnswerBytes))
					return
				}
				app.ServeHTTP(w, r)
			},
			errors: testUsers,
			kind:   "answer too large",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()

			res := mustRun(t, testConfig(srv.URL))
			require.Equal(t, tc.errors, res.Total.Errors, res.Errors)
			if tc.kind != "" {
				require.Equal(t, tc.kind, res.Errors[0].Kind)
			}
		})
	}
}

func TestTargetPathPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/v1.0/invoke/app/method/", http.StripPrefix("/v1.0/invoke/app/method", NewFakeApp()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res := mustRun(t, testConfig(srv.URL+"/v1.0/invoke/app/method/"))
	require.Zero(t, res.Total.Errors, res.Errors)
	require.EqualValues(t, testUsers*len(sequence), res.Total.Count)
}

func TestHTTPSTarget(t *testing.T) {
	srv := httptest.NewUnstartedServer(NewFakeApp())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()

	c := newClient(srv.URL, time.Second)
	defer c.close()
	x := &exchange{body: appendBody(nil, pair{})}

	err := c.call(t.Context(), opGetAllStates, x)
	require.ErrorContains(t, err, "certificate", "the test server's certificate is not trusted")

	c.tls.RootCAs = x509.NewCertPool()
	c.tls.RootCAs.AddCert(srv.Certificate())
	require.NoError(t, c.call(t.Context(), opGetAllStates, x))
	require.NotNil(t, x.answer.ArtifactRead)
}

func TestCallIsCutOffWhenTheContextEnds(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	c := newClient(srv.URL, time.Minute)
	defer c.close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()

	start := time.Now()
	err := c.call(ctx, opSetRead, &exchange{body: appendBody(nil, pair{})})
	require.Error(t, err)
	require.Less(t, time.Since(start), 10*time.Second)
}

// countNew returns a ConnState hook that counts new connections.
func countNew(n *atomic.Int64) func(net.Conn, http.ConnState) {
	return func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
}
