package testkit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// Cluster starts n NATS servers with JetStream, clustered over routes on
// random ports, each storing in a temporary directory, and returns once
// JetStream has a meta leader. They stop when the test ends.
func Cluster(t testing.TB, n int) []*server.Server {
	t.Helper()
	var servers []*server.Server
	var routes []string
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("nats-%d", i+1), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "konnect-bridge-test", Host: "127.0.0.1", Port: server.RANDOM_PORT},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		ns, err := natsconn.StartServer(opts)
		if err != nil {
			t.Fatalf("start NATS %d: %v", i+1, err)
		}
		t.Cleanup(ns.Shutdown)
		servers = append(servers, ns)
		routes = append(routes, "nats-route://"+ns.ClusterAddr().String())
	}
	Eventually(t, 20*time.Second, func() bool {
		leader := false
		for _, ns := range servers {
			if ns.NumRoutes() < n-1 || !ns.JetStreamIsClustered() {
				return false
			}
			leader = leader || ns.JetStreamIsLeader()
		}
		return leader
	}, "the %d NATS servers did not form a JetStream cluster", n)
	return servers
}

// ClientURLs is the servers' client URLs, comma separated, as NATS_URL
// takes them.
func ClientURLs(servers []*server.Server) string {
	urls := make([]string, len(servers))
	for i, ns := range servers {
		urls[i] = ns.ClientURL()
	}
	return strings.Join(urls, ",")
}
