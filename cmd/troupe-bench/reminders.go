package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// reminderBench configures the reminder benchmark (-reminders N): N reminders are
// registered through a sidecar process backed by Redis, then all come due at once with a
// one-second period, so the fire rate measured is what the sidecar sustains.
var reminderBench struct {
	count   int
	clients int
	due     time.Duration
	window  time.Duration
}

func init() {
	flag.IntVar(&reminderBench.count, "reminders", 0,
		"run the reminder benchmark with this many reminders (e.g. 100000) instead")
	flag.IntVar(&reminderBench.clients, "reminder-clients", 64, "concurrent registrations")
	flag.DurationVar(&reminderBench.due, "reminder-due", 30*time.Second,
		"due time of the reminders; registration must finish before it")
	flag.DurationVar(&reminderBench.window, "reminder-window", 10*time.Second,
		"how long fires are counted")
}

// Goals from the issue and daprd's own CI gates (contract §7), printed for comparison.
const (
	goalRegistrations = 5000
	goalFires         = 10000
	daprRegistrations = 33
	daprFires         = 1000
)

func runReminders(ctx context.Context, cfg config) error {
	env, err := newBenchEnv(ctx, cfg, "reminders")
	if err != nil {
		return err
	}
	defer env.close()

	app, err := startCountingApp()
	if err != nil {
		return err
	}
	defer app.close()

	sc, err := startSidecarProcess(ctx, env.dir, app.port())
	if err != nil {
		return err
	}
	defer sc.stop()

	return benchReminders(ctx, app, sc)
}

func benchReminders(ctx context.Context, app *countingApp, sc *sidecarProcess) error {
	n, clients := reminderBench.count, reminderBench.clients
	fmt.Printf("troupe-bench reminders: %d reminders, %d clients, sidecar pid %d\n\n",
		n, clients, sc.cmd.Process.Pid)

	baseline := app.callRate(ctx, clients, 3*time.Second)
	app.fires.Store(0)

	cpu0 := sc.cpu()
	start := time.Now()
	if err := registerAll(ctx, sc.url, n, clients); err != nil {
		return err
	}
	regTime := time.Since(start)
	regCPU := (sc.cpu() - cpu0).Seconds() / regTime.Seconds()
	regRate := float64(n) / regTime.Seconds()
	if regTime >= reminderBench.due {
		fmt.Println("warning: registration outlasted the due time; fires overlapped it")
	}

	// Every reminder is due reminderBench.due after its registration and then every
	// second; count the fires once the last one is due.
	wait := time.Until(start.Add(regTime + reminderBench.due))
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return ctx.Err()
	}
	fires0, cpu1 := app.fires.Load(), sc.cpu()
	time.Sleep(reminderBench.window) // the measuring window
	fireRate := float64(app.fires.Load()-fires0) / reminderBench.window.Seconds()
	fireCPU := (sc.cpu() - cpu1).Seconds() / reminderBench.window.Seconds()
	rss, peak := sc.memory()

	fmt.Printf("%-36s %10s %9s %9s %9s %9s\n", "", "per s", "baseline", "goal", "daprd",
		"sidecar")
	fmt.Printf("%-36s %10.0f %8.2fx %8.2fx %8.0fx %8.0f%%\n", "registrations (HTTP PUT)",
		regRate, regRate/baseline, regRate/goalRegistrations, regRate/daprRegistrations,
		100*regCPU)
	fmt.Printf("%-36s %10.0f %8.2fx %8.2fx %8.0fx %8.0f%%\n", "fires delivered to the app",
		fireRate, fireRate/baseline, fireRate/goalFires, fireRate/daprFires, 100*fireCPU)
	fmt.Printf("\nbaseline: %.0f calls/s straight to the app at the same concurrency\n", baseline)
	fmt.Printf("sidecar CPU is a share of one core; sidecar memory: RSS %d MiB, peak %d MiB\n",
		rss>>20, peak>>20)
	return nil
}

// registerAll registers reminders r0..r(n-1) of actor type Bench through the sidecar.
func registerAll(ctx context.Context, sidecarURL string, n, clients int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	body := []byte(`{"dueTime":"` + reminderBench.due.String() + `","period":"1s"}`)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n) && ctx.Err() == nil; i = next.Add(1) - 1 {
				url := sidecarURL + "/v1.0/actors/Bench/r" + strconv.FormatInt(i, 10) +
					"/reminders/tick"
				if err := put(ctx, client, url, body, http.StatusNoContent); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return fmt.Errorf("registering reminders: %w", err)
	}
	return ctx.Err()
}

func put(ctx context.Context, client *http.Client, url string, body []byte, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, msg)
	}
	return nil
}

// countingApp is the cheapest app that hosts type Bench: it counts reminder calls and
// answers 200, so the benchmark measures the sidecar rather than the app.
type countingApp struct {
	ln    net.Listener
	srv   *http.Server
	fires atomic.Int64
}

func startCountingApp() (*countingApp, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &countingApp{ln: ln}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve)}
	go a.srv.Serve(ln)
	return a, nil
}

func (a *countingApp) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	switch {
	case r.URL.Path == "/dapr/config":
		w.Write([]byte(`{"entities":["Bench"]}`))
	case strings.Contains(r.URL.Path, "/method/remind/"):
		a.fires.Add(1)
	}
}

func (a *countingApp) port() int { return a.ln.Addr().(*net.TCPAddr).Port }

func (a *countingApp) close() { a.srv.Close() }

// callRate measures PUTs straight to the app for d: the baseline of the same hop the
// sidecar makes for each fire.
func (a *countingApp) callRate(ctx context.Context, clients int, d time.Duration) float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	url := "http://" + a.ln.Addr().String() + "/actors/Bench/x/method/remind/tick"
	body := []byte(`{"dueTime":"","period":"1s"}`)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var calls atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for put(ctx, client, url, body, http.StatusOK) == nil {
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(calls.Load()) / d.Seconds()
}

// sidecarProcess is the sidecar binary running on its own, so its CPU and memory can be
// read from /proc.
type sidecarProcess struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startSidecarProcess(ctx context.Context, dir string, appPort int) (
	*sidecarProcess, error) {
	bin := filepath.Join(dir, "sidecar")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/troupe-dev/troupe/sidecar")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the sidecar (run from the repository): %v\n%s", err, out)
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	grpcPort, err := freePort()
	if err != nil {
		return nil, err
	}
	// pprof on loopback, so the sidecar can be profiled while it fires:
	// go tool pprof http://127.0.0.1:PORT/debug/pprof/profile?seconds=5
	profilePort, err := freePort()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "sidecar pprof: http://127.0.0.1:%d/debug/pprof/\n", profilePort)
	cmd := exec.Command(bin, "--app-id", "bench", "--app-port", strconv.Itoa(appPort),
		"--dapr-http-port", strconv.Itoa(httpPort), "--dapr-grpc-port", strconv.Itoa(grpcPort),
		"--resources-path", dir, "--enable-metrics=false", "--log-level", "warn",
		"--enable-profiling", "--profile-port", strconv.Itoa(profilePort))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &sidecarProcess{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(httpPort),
		done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()

	if err := p.waitHealthy(); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *sidecarProcess) waitHealthy() error {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if resp, err := http.Get(p.url + "/v1.0/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("sidecar did not become healthy")
}

func (p *sidecarProcess) stop() {
	p.cmd.Process.Kill()
	<-p.done
}

// cpu returns the process's user plus system CPU time.
func (p *sidecarProcess) cpu() time.Duration { return procCPU(p.cmd.Process.Pid) }

// memory returns the process's resident and peak resident memory in bytes.
func (p *sidecarProcess) memory() (rss, peak int64) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}
