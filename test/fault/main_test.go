package fault_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The binaries the suite runs, built once by TestMain.
var (
	bridgeBin string
	natsBin   string
)

// TestMain builds the bridge and nats-server (the version go.mod requires)
// into a temporary directory, runs the tests, and removes them. A build
// that fails fails the suite: CI must run it.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "konnect-bridge-fault-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fault suite:", err)
		os.Exit(1)
	}
	bridgeBin = filepath.Join(dir, "bridge")
	natsBin = filepath.Join(dir, "nats-server")
	err = buildAll(map[string]string{
		bridgeBin: "github.com/konnect-bridge/konnect-bridge/cmd/bridge",
		natsBin:   "github.com/nats-io/nats-server/v2",
	})
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "fault suite: building the binaries failed:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildAll runs `go build -o out pkg` for every out, at once.
func buildAll(builds map[string]string) error {
	goBin, err := exec.LookPath("go")
	if err != nil && os.Getenv("GOROOT") != "" {
		goBin, err = filepath.Join(os.Getenv("GOROOT"), "bin", "go"), nil
	}
	if err != nil {
		return fmt.Errorf("no go command to build with: %w", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for out, pkg := range builds {
		wg.Go(func() {
			cmd := exec.Command(goBin, "build", "-o", out, pkg)
			if b, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("go build %s: %v\n%s", pkg, err, b))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
