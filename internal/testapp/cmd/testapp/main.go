// Command testapp serves the test actor app (package testapp) as its own process, for
// tests that run sidecars as processes.
//
//	testapp --port 3000 --sidecar http://127.0.0.1:3500 [--config '{"entities":["Counter"]}']
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/troupe-dev/troupe/internal/testapp"
)

func main() {
	port := flag.Int("port", 3000, "port to serve the app callbacks on")
	sidecar := flag.String("sidecar", "http://127.0.0.1:3500", "the sidecar's HTTP API")
	config := flag.String("config", `{"entities":["Counter"]}`, "the /dapr/config answer")
	flag.Parse()

	app, err := testapp.StartOn(net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)), []byte(*config))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
	app.SidecarURL = *sidecar

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	app.Close()
}
