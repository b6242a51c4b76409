package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// Past one machine: a three-node NATS cluster with the stream replicated
// three times, two bridges sharing the durable consumer. The stream's
// leader is killed while they drain a backlog: every event is billed once
// (the Konnect stand-in holds each (source, id) once, and holds them all),
// and both bridges stay up and ready on the two servers left.
func TestClusterLosesItsStreamLeaderMidDrain(t *testing.T) {
	const events = 3000
	servers := testkit.Cluster(t, 3)
	urls := testkit.ClientURLs(servers)
	k := testkit.NewKonnect(t, sandbox.WithFault(sandbox.Delay(20*time.Millisecond)))
	cfg := testkit.Config(urls, k.URL)

	_, js := testkit.Connect(t, urls)
	testkit.Eventually(t, wait, func() bool {
		ctx, cancel := brief()
		defer cancel()
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: cfg.Bridge.Stream, Subjects: []string{cfg.Bridge.Subject}, Replicas: 3})
		return err == nil
	}, "the replicated stream could not be created")
	for i := range events {
		if _, err := js.PublishAsync("agent.runs.acme", run(fmt.Sprintf("cluster-%05d", i)).JSON()); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(wait):
		t.Fatal("the stream did not store the backlog")
	}

	bridges := []*testkit.Bridge{testkit.StartBridge(t, cfg), testkit.StartBridge(t, cfg)}
	testkit.Eventually(t, wait, func() bool { return len(k.Events()) >= events/5 }, "the bridges never started draining")
	leader := streamLeader(t, js, cfg.Bridge.Stream, servers)
	leader.Shutdown()
	t.Logf("killed the stream leader %s with %d of %d events delivered", leader.Name(), len(k.Events()), events)

	testkit.Eventually(t, 40*time.Second, func() bool { return len(k.Events()) == events },
		"Konnect holds %v of the %d events", lazy(func() string { return fmt.Sprint(len(k.Events())) }), events)
	ids := k.IDs()
	for i := range events {
		if !ids[fmt.Sprintf("acme-platform/cluster-%05d", i)] {
			t.Errorf("event cluster-%05d was never billed", i)
		}
	}
	for i, b := range bridges {
		testkit.Eventually(t, wait, func() bool {
			resp, err := http.Get("http://" + b.AdminAddr + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, "bridge %d is not ready after the leader was killed", i+1)
	}
}

// streamLeader is the server leading the stream's replicas.
func streamLeader(t *testing.T, js jetstream.JetStream, stream string, servers []*server.Server) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info := s.CachedInfo()
	for _, ns := range servers {
		if info.Cluster != nil && ns.Name() == info.Cluster.Leader {
			return ns
		}
	}
	t.Fatalf("no server leads stream %s: %+v", stream, info.Cluster)
	return nil
}
