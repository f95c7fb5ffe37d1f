package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/appchannel"
)

// HopsHeader counts how often a call was forwarded between sidecars. A sidecar that
// receives a call for an actor it does not own forwards it again, up to maxHops.
const HopsHeader = "X-Troupe-Hops"

const maxHops = 4

// forwarder sends calls to the sidecar that owns the actor, over keep-alive connections
// to each peer's internal API.
type forwarder struct {
	client      *http.Client
	maxBodySize int64
	obs         Observer
}

func newForwarder(maxBodySize int64, obs Observer) *forwarder {
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &forwarder{client: &http.Client{Transport: transport}, maxBodySize: maxBodySize,
		obs: obs}
}

// errNotDelivered marks a forward that certainly did not reach the peer (it refused the
// connection), so the call can be routed again without running twice.
var errNotDelivered = errors.New("peer refused the connection")

// forward sends req to the owner's internal API. The owner's answer comes back as is: a
// 200 as the response, an error answer as the same API error.
func (f *forwarder) forward(ctx context.Context, owner string, req *appchannel.Request,
	hops int) (*appchannel.Response, error) {

	target := "http://" + owner + "/v1.0/actors/" + url.PathEscape(req.ActorType) + "/" +
		url.PathEscape(req.ActorID) + "/method/" + req.Path
	if req.Query != "" {
		target += "?" + req.Query
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(req.Body))
	if err != nil {
		return nil, fmt.Errorf("building forward request: %w", err)
	}
	for name, values := range req.Header {
		httpReq.Header[name] = values
	}
	if req.ContentType != "" {
		httpReq.Header.Set("Content-Type", req.ContentType)
	}
	httpReq.Header.Set(HopsHeader, strconv.Itoa(hops+1))
	f.obs.InjectForward(ctx, httpReq.Header)

	resp, err := f.client.Do(httpReq)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("forwarding to %s: %w", owner, errNotDelivered)
		}
		return nil, fmt.Errorf("forwarding to %s: %w", owner, err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading answer of %s: %w", owner, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, peerError(resp.StatusCode, body)
	}
	return &appchannel.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// peerError rebuilds the API error a peer answered with, so the caller gets the same
// code, status and message as if it had called the owner.
func peerError(status int, body []byte) error {
	var e struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || e.ErrorCode == "" {
		return apierr.New(apierr.ActorInvokeMethod,
			"error invoke actor method: owner answered %d: %s", status, body)
	}
	kind := apierr.KindOf(e.ErrorCode)
	kind.HTTPStatus = status
	return &apierr.Error{Kind: kind, Message: e.Message}
}

// forwardStatus is the owner's HTTP status as forward reports it: 200 with an answer, the
// status of a peer error, 0 when the owner did not answer.
func forwardStatus(resp *appchannel.Response, err error) int {
	if err == nil {
		return resp.Status
	}
	var apiErr *apierr.Error
	if errors.As(err, &apiErr) {
		return apiErr.Kind.HTTPStatus
	}
	return 0
}

func hopsOf(req *appchannel.Request) int {
	n, _ := strconv.Atoi(req.Header.Get(HopsHeader))
	return n
}
