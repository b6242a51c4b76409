package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

func versionFlags(*flag.FlagSet) func(context.Context, config.Config, *flag.FlagSet) error {
	return func(context.Context, config.Config, *flag.FlagSet) error {
		v := metrics.Build()
		dirty := ""
		if v.Modified {
			dirty = " (modified)"
		}
		fmt.Fprintf(os.Stdout, "konnect-bridge %s revision %s%s %s\n", v.Version, v.Revision, dirty, v.GoVersion)
		return nil
	}
}
