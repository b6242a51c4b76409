package consume_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/consume"
)

func TestDurabilityWarnsWhereACrashMayLoseAcknowledgedEvents(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg      jetstream.StreamConfig
		ok       bool
		replicas int
		storage  string
		says     string
	}{
		"R1 file":  {jetstream.StreamConfig{Name: "AGENT_RUNS", Storage: jetstream.FileStorage, Replicas: 1}, false, 1, "file", "sync_interval: always"},
		"R0 is R1": {jetstream.StreamConfig{Name: "AGENT_RUNS"}, false, 1, "file", "1 replica(s)"},
		"memory":   {jetstream.StreamConfig{Name: "AGENT_RUNS", Storage: jetstream.MemoryStorage, Replicas: 3}, false, 3, "memory", "in memory"},
		"R3 file":  {jetstream.StreamConfig{Name: "AGENT_RUNS", Storage: jetstream.FileStorage, Replicas: 3}, true, 3, "file", "3 replicas"},
		"R5 file":  {jetstream.StreamConfig{Name: "AGENT_RUNS", Storage: jetstream.FileStorage, Replicas: 5}, true, 5, "file", "5 replicas"},
	} {
		t.Run(name, func(t *testing.T) {
			d := consume.Durability(tc.cfg)
			if d.OK != tc.ok || !strings.Contains(d.Says, tc.says) || !strings.Contains(d.Says, "AGENT_RUNS") {
				t.Errorf("Durability = %v %q, want %v and a line naming the stream and %q", d.OK, d.Says, tc.ok, tc.says)
			}
			if d.Stream != "AGENT_RUNS" || d.Replicas != tc.replicas || d.Storage != tc.storage {
				t.Errorf("Durability read stream %q, %d replica(s) on %s storage, want AGENT_RUNS, %d on %s", d.Stream, d.Replicas, d.Storage, tc.replicas, tc.storage)
			}
		})
	}
}
