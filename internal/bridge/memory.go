package bridge

import (
	"os"
	"runtime/debug"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// LimitMemory sets the process's soft memory limit to cfg's
// SoftMemoryLimit unless GOMEMLIMIT sets one, so that the garbage
// collector keeps the bridge near what its settings bound rather than at
// twice that. Call it once, from main: it changes the whole process.
func LimitMemory(cfg config.Config, log zerolog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := cfg.SoftMemoryLimit()
	debug.SetMemoryLimit(limit)
	log.Debug().Int64("bytes", limit).Msg("soft memory limit set from the batch settings (GOMEMLIMIT overrides it)")
}
