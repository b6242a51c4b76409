package bridge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// sandboxStartedFile keeps, in dev mode's data directory, when the sandbox
// first started: its guide subscription is active from then on every
// restart, as the stream beside it keeps its runs, so runs of an earlier
// start are not taken for runs before the subscription.
const sandboxStartedFile = "sandbox-started"

// sandboxStarted is the first start kept in dir, or now, kept there when
// there was none.
func sandboxStarted(dir string, now time.Time) (time.Time, error) {
	path := filepath.Join(dir, sandboxStartedFile)
	b, err := os.ReadFile(path)
	if err == nil {
		t, perr := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
		if perr != nil {
			return now, fmt.Errorf("%s does not hold an RFC 3339 time (%v): delete it to start the sandbox's subscription anew", path, perr)
		}
		return t, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return now, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return now, err
	}
	now = now.UTC().Truncate(time.Second)
	return now, os.WriteFile(path, []byte(now.Format(time.RFC3339)+"\n"), 0o644)
}
