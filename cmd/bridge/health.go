package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// healthFlags: `bridge health` asks the running bridge's admin server for
// /healthz (or /readyz with --ready); it works in an image without curl.
func healthFlags(fs *flag.FlagSet) action {
	ready := fs.Bool("ready", false, "ask /readyz instead of /healthz")
	return func(ctx context.Context, cfg config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		host, port, err := net.SplitHostPort(cfg.Bridge.HTTPAddr)
		if err != nil {
			return fmt.Errorf("BRIDGE_HTTP_ADDR %q: %w", cfg.Bridge.HTTPAddr, err)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		path := "/healthz"
		if *ready {
			path = "/readyz"
		}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", path, resp.Status)
		}
		return nil
	}
}
