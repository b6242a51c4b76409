package natsconn

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded starts the NATS server of dev mode: JetStream on, storing in
// dir, listening on addr ("127.0.0.1:0" picks a free port). Shut it down
// with Shutdown after the bridge's connection is drained.
func Embedded(addr, dir string) (*server.Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS port %q: %w", port, err)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	ns, err := StartServer(&server.Options{ServerName: "konnect-bridge-dev", Host: host, Port: p, JetStream: true, StoreDir: dir})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS on %s: %w (is the port taken? set BRIDGE_NATS_LISTEN)", addr, err)
	}
	return ns, nil
}

// StartServer runs a NATS server in this process with opts, without
// signal handlers or logs of its own, and returns once it takes
// connections. It is the one way the bridge, its benchmarks and its tests
// embed NATS.
func StartServer(opts *server.Options) (*server.Server, error) {
	opts.NoSigs, opts.NoLog = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("NATS did not start in 10s")
	}
	return ns, nil
}
