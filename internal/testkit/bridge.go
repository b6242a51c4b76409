package testkit

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
)

// Bridge is a bridge running in the test's process.
type Bridge struct {
	bridge.Started
	stop context.CancelFunc
	done chan error
	once sync.Once
}

// StartBridge runs the bridge with cfg until Stop or the end of the test,
// and returns once it is up. Its log goes to the test's log.
func StartBridge(t testing.TB, cfg config.Config) *Bridge {
	t.Helper()
	return StartBridgeLog(t, cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger())
}

// StartBridgeLog is StartBridge logging to log, run with opts.
func StartBridgeLog(t testing.TB, cfg config.Config, log zerolog.Logger, opts ...bridge.Option) *Bridge {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bridge{stop: cancel, done: make(chan error, 1)}
	up := make(chan bridge.Started, 1)
	go func() { b.done <- bridge.Run(ctx, cfg, log, func(s bridge.Started) { up <- s }, opts...) }()
	select {
	case b.Started = <-up:
	case err := <-b.done:
		cancel()
		t.Fatalf("bridge stopped at start: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("bridge did not start in 20s")
	}
	t.Cleanup(func() { b.Stop(t) })
	return b
}

// Stop stops the bridge as SIGTERM would and waits for it to exit.
func (b *Bridge) Stop(t testing.TB) {
	t.Helper()
	b.once.Do(func() {
		b.stop()
		select {
		case err := <-b.done:
			if err != nil {
				t.Errorf("bridge stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("bridge did not stop in 30s")
		}
	})
}

// Log keeps what a bridge logs, for a test to look for a line, and passes
// it on to the test's log. Safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	test io.Writer
}

// NewLog returns a Log and a logger writing to it.
func NewLog(t testing.TB) (*Log, zerolog.Logger) {
	l := &Log{test: zerolog.NewTestWriter(t)}
	return l, zerolog.New(l).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	return l.test.Write(p)
}

// Contains reports whether a line logged so far holds s.
func (l *Log) Contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(l.buf.Bytes(), []byte(s))
}
