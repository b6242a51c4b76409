// Package wait holds the one way the bridge waits: for a while, or until
// its context ends, whichever comes first.
package wait

import (
	"context"
	"time"
)

// Sleep waits d or until ctx ends; it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Retry calls try until it succeeds or ctx ends, waiting between attempts
// from one second, doubling, up to 15 seconds, and telling failed about each
// failure and the wait that follows. It returns nil on success, else ctx's
// error.
func Retry(ctx context.Context, try func() error, failed func(err error, retryIn time.Duration)) error {
	for retryIn := time.Second; ; retryIn = min(2*retryIn, 15*time.Second) {
		err := try()
		if err == nil {
			return nil
		}
		failed(err, retryIn)
		if !Sleep(ctx, retryIn) {
			return ctx.Err()
		}
	}
}
