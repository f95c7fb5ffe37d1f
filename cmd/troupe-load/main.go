// Command troupe-load sends load to the ArtifactState demo app, checks every answer and
// reports throughput, latency percentiles, errors and wrong answers.
//
// Usage:
//
//	troupe-load seed [flags]      the original demo's simulation (1,000 users over 5 minutes)
//	troupe-load stress [flags]    a closed loop of workers over a hot key space
//	troupe-load selftest [flags]  how many requests/s the tool itself can send, and with
//	                              --target how many times the target's rate that is
//
// It exits with 0 when the thresholds given as flags were met, 1 when not, and 2 for a usage
// problem or a target that is down or does not answer like the app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/troupe-dev/troupe/internal/loadgen"
)

// Exit statuses.
const (
	exitPassed = 0
	exitFailed = 1
	exitUsage  = 2
)

const usageHeader = `usage: troupe-load seed|stress|selftest [flags]

  seed      the original demo's simulation: each user takes a random (artifact, user)
            pair and sends the six requests once; 1,000 users over 5 minutes by default,
            or --rate users/s, or a closed loop of --concurrency users
  stress    a closed loop of --concurrency workers over --hot-keys pairs
  selftest  a stress run against an in-process handler: the rate the tool can send;
            with --target, the same run against the target and the ratio of the two

flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "no command")
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		cfg := loadgen.DefaultConfig()
		newFlagSet(&cfg, stderr).Usage()
		return exitPassed
	}

	command := args[0]
	cfg := loadgen.DefaultConfig()
	if command == "selftest" {
		cfg = loadgen.DefaultSelfTestConfig()
	}
	fs := newFlagSet(&cfg, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}

	switch command {
	case "seed", "stress":
		cfg.Scenario = loadgen.Scenario(command)
		res, err := loadgen.Run(ctx, cfg, stdout, stderr)
		return exitStatus(res, err, stderr)
	case "selftest":
		res, err := loadgen.SelfTest(ctx, cfg, stdout, stderr)
		if err != nil {
			return exitStatus(nil, err, stderr)
		}
		return exitStatus(res.Tool, nil, stderr)
	default:
		return usageError(stderr, fmt.Sprintf("unknown command %q", command))
	}
}

// newFlagSet returns the flags of troupe-load, bound to the fields of cfg.
func newFlagSet(cfg *loadgen.Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("troupe-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHeader)
		fs.PrintDefaults()
	}

	fs.StringVar(&cfg.Target, "target", cfg.Target,
		"base URL of the ArtifactState app, the only address contacted (selftest: to compare)")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "seed: users arriving over --ramp")
	fs.DurationVar(&cfg.Ramp, "ramp", cfg.Ramp, "seed: time over which --users arrive evenly")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate,
		"seed: users arriving per second for --duration, instead of --users over --ramp")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency,
		"closed loop of this many users for --duration (stress default 32)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration,
		"how long new users start (0: the ramp, or 1m for --rate, --concurrency, stress)")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain,
		"how long users still running after --duration may take to finish")
	fs.Int64Var(&cfg.MaxRequests, "max-requests", cfg.MaxRequests,
		"stop after this many requests (0: no limit)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "timeout of each request")
	fs.IntVar(&cfg.Artifacts, "artifacts", cfg.Artifacts, "artifact ids are 0 to this minus 1")
	fs.IntVar(&cfg.HotKeys, "hot-keys", cfg.HotKeys,
		"stress: (artifact, user) pairs the workers share")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed of the pairs (0: random)")
	fs.StringVar(&cfg.ReportPrefix, "report", cfg.ReportPrefix,
		"write the reports to this path plus .html and .json (empty: none)")
	fs.DurationVar(&cfg.ProgressInterval, "progress-interval", cfg.ProgressInterval,
		"how often to print progress when stderr is not a terminal")

	t := &cfg.Thresholds
	fs.Float64Var(&t.MaxErrorRate, "max-error-rate", t.MaxErrorRate,
		"fail when more than this fraction of requests err or answer wrong (-1: no limit)")
	fs.DurationVar(&t.MaxP95, "max-p95", t.MaxP95, "fail when p95 latency is above this")
	fs.DurationVar(&t.MaxP99, "max-p99", t.MaxP99, "fail when p99 latency is above this")
	fs.Float64Var(&t.MinRPS, "min-rps", t.MinRPS, "fail when fewer requests/s than this")
	return fs
}

// usageError prints msg and returns the usage exit status.
func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "troupe-load: %s (troupe-load help lists the commands and flags)\n", msg)
	return exitUsage
}

// exitStatus prints the error of a run, if any, and returns its exit status.
func exitStatus(res *loadgen.Result, err error, stderr io.Writer) int {
	switch {
	case errors.Is(err, loadgen.ErrUsage):
		return usageError(stderr, strings.TrimPrefix(err.Error(), "loadgen: "))
	case err != nil:
		fmt.Fprintf(stderr, "troupe-load: %s\n", strings.TrimPrefix(err.Error(), "loadgen: "))
		return exitUsage
	case !res.Passed():
		return exitFailed
	}
	return exitPassed
}
