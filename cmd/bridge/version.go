package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

func versionFlags(*flag.FlagSet) action {
	return func(_ context.Context, _ config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		v := metrics.Build()
		dirty := ""
		if v.Modified {
			dirty = " (modified)"
		}
		fmt.Fprintf(stdout, "konnect-bridge %s revision %s%s %s\n", v.Version, v.Revision, dirty, v.GoVersion)
		return nil
	}
}
