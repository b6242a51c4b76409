package consume_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/consume"
)

func TestDurabilityWarnsWhereACrashMayLoseAcknowledgedEvents(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  jetstream.StreamConfig
		ok   bool
		says string
	}{
		"R1 file":  {jetstream.StreamConfig{Name: "AGENT_RUNS", Storage: jetstream.FileStorage, Replicas: 1}, false, "sync_interval: always"},
		"R0 is R1": {jetstream.StreamConfig{Name: "AGENT_RUNS"}, false, "1 replica(s)"},
		"memory":   {jetstream.StreamConfig{Name: "AGENT_RUNS", Storage: jetstream.MemoryStorage, Replicas: 3}, false, "in memory"},
		"R3 file":  {jetstream.StreamConfig{Name: "AGENT_RUNS", Storage: jetstream.FileStorage, Replicas: 3}, true, "3 replicas"},
		"R5 file":  {jetstream.StreamConfig{Name: "AGENT_RUNS", Storage: jetstream.FileStorage, Replicas: 5}, true, "5 replicas"},
	} {
		t.Run(name, func(t *testing.T) {
			ok, says := consume.Durability(tc.cfg)
			if ok != tc.ok || !strings.Contains(says, tc.says) || !strings.Contains(says, "AGENT_RUNS") {
				t.Errorf("Durability = %v %q, want %v and a line naming the stream and %q", ok, says, tc.ok, tc.says)
			}
		})
	}
}
