package bridge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Dev mode keeps the sandbox's first start beside the embedded stream: a
// restart finds the same start, so the guide's subscription keeps its
// active_from; a record that does not parse is said, not overwritten.
func TestSandboxKeepsItsFirstStartAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := time.Date(2026, 12, 4, 18, 50, 18, 0, time.UTC)
	got, err := sandboxStarted(dir, first)
	if err != nil || !got.Equal(first) {
		t.Fatalf("first start: %s, %v; want %s", got, err, first)
	}
	got, err = sandboxStarted(dir, first.Add(time.Hour))
	if err != nil || !got.Equal(first) {
		t.Errorf("restart an hour later: %s, %v; want the first start %s", got, err, first)
	}
	if err := os.WriteFile(filepath.Join(dir, sandboxStartedFile), []byte("yesterday"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sandboxStarted(dir, first); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("a record that does not parse: %v, want the way out", err)
	}
}
