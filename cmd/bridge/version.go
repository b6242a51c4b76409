package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// versionFlags prints the build: the module version, the commit, its time
// and whether the tree was modified, and why they are unknown when they
// are.
func versionFlags(*flag.FlagSet) action {
	return func(_ context.Context, _ config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		printVersion(stdout, metrics.Build())
		return nil
	}
}

func printVersion(w io.Writer, v metrics.Version) {
	fmt.Fprintf(w, "konnect-bridge %s\n  revision: %s\n  time:     %s\n  modified: %s\n  go:       %s\n",
		v.Version, v.Revision, v.Time, v.Modified, v.GoVersion)
	if v.Unknown != "" {
		fmt.Fprintf(w, "revision unknown: %s\n", v.Unknown)
	}
}
