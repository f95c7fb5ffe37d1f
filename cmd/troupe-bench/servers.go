package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// servers are the two middle hops the scenarios call: the baseline's reverse proxy and
// the sidecar.
type servers struct {
	proxyURL   string
	sidecarURL string

	// layout says where they run, for the report.
	layout string

	// pids are the processes they run in, besides this one, for the CPU meter.
	pids []int

	stop func()
}

// startServers starts the proxy and the sidecar. By default each runs in a process of its
// own, as deployed: every hop then crosses processes, the sidecar has its own Go runtime
// and garbage collector, and so has the proxy. With -in-process both run inside this
// process, beside the client and the app, so that one CPU profile covers everything.
func startServers(ctx context.Context, cfg config, dir string, appPort int) (
	servers, error) {

	appURL := "http://127.0.0.1:" + strconv.Itoa(appPort)
	if cfg.inProcess {
		return startServersInProcess(ctx, dir, appURL, appPort)
	}

	proxy, err := startProxyProcess(appURL)
	if err != nil {
		return servers{}, err
	}
	sidecar, err := startSidecarProcess(ctx, dir, appPort)
	if err != nil {
		proxy.stop()
		return servers{}, err
	}
	return servers{
		proxyURL:   proxy.url,
		sidecarURL: sidecar.url,
		layout:     "proxy and sidecar in processes of their own",
		pids:       []int{proxy.cmd.Process.Pid, sidecar.cmd.Process.Pid},
		stop:       func() { sidecar.stop(); proxy.stop() },
	}, nil
}

func startServersInProcess(ctx context.Context, dir, appURL string, appPort int) (
	servers, error) {

	proxyURL, stopProxy, err := startProxy(appURL)
	if err != nil {
		return servers{}, err
	}
	sidecarURL, stopSidecar, err := startSidecar(ctx, dir, appPort)
	if err != nil {
		stopProxy()
		return servers{}, err
	}
	return servers{
		proxyURL:   proxyURL,
		sidecarURL: sidecarURL,
		layout:     "proxy and sidecar in this process",
		stop:       func() { stopSidecar(); stopProxy() },
	}, nil
}

// newProxy returns the baseline's middle hop: Go's reverse proxy to the app, keeping
// connections alive.
func newProxy(target *url.URL) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}
	return proxy
}

// startProxy serves the proxy inside this process.
func startProxy(appURL string) (string, func(), error) {
	target, err := url.Parse(appURL)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: newProxy(target)}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// serveProxy is what a proxy process runs (-serve-proxy): the proxy on listen until killed.
func serveProxy(listen, appURL string) error {
	target, err := url.Parse(appURL)
	if err != nil {
		return err
	}
	return http.ListenAndServe(listen, newProxy(target))
}

type proxyProcess struct {
	cmd *exec.Cmd
	url string
}

// startProxyProcess runs this program again as a proxy process and waits until it listens.
func startProxyProcess(appURL string) (*proxyProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(self, "-serve-proxy", addr, "-proxy-target", appURL)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the proxy process: %w", err)
	}
	p := &proxyProcess{cmd: cmd, url: "http://" + addr}

	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return p, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("the proxy process did not listen")
}

func (p *proxyProcess) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}
