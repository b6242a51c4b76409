package bridge

import (
	"os"
	"runtime/debug"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// gcPercent is the bridge's GOGC unless the environment sets one. Its live
// heap is a few MiB, so at Go's default of 100 the collector runs over a
// hundred times a second while a backlog drains; at 400 it costs a quarter
// less CPU per event, and the soft memory limit still bounds the heap.
const gcPercent = 400

// LimitMemory sets the process's soft memory limit to cfg's
// SoftMemoryLimit unless GOMEMLIMIT sets one, so that the garbage
// collector keeps the bridge near what its settings bound rather than at
// twice that, and GOGC to gcPercent unless GOGC sets it. Call it once,
// from main: it changes the whole process.
func LimitMemory(cfg config.Config, log zerolog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := cfg.SoftMemoryLimit()
	debug.SetMemoryLimit(limit)
	log.Debug().Int64("bytes", limit).Msg("soft memory limit set from the batch settings (GOMEMLIMIT overrides it)")
}
