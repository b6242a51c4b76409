package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
)

// The bridge runs in a child process (this binary again, with childArg
// first) so that its peak RSS and CPU time are its own, not those of NATS,
// the sink or the load generator, which share the bench process.
const childArg = "bridge-child"

// runChild is the child: the real bridge (bridge.Run) configured by the
// bridge's own flags. It prints "ready" once the bridge is up, stops the
// CPU profile (and writes the allocation profile) on SIGUSR1, prints its allocation and GC counts on SIGUSR2,
// and stops the bridge on SIGTERM.
func runChild(args []string) int {
	fs := flag.NewFlagSet(childArg, flag.ContinueOnError)
	profile := fs.String("cpuprofile", "", "write the bridge's CPU profile here until SIGUSR1")
	memprofile := fs.String("memprofile", "", "write the bridge's allocation profile here on SIGUSR1")
	cfg, err := config.Load(fs, args, os.Getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bridge child:", err)
		return 2
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 4 << 10
	}
	stopProfile := func() {}
	if *profile != "" || *memprofile != "" {
		var once sync.Once
		var f *os.File
		if *profile != "" {
			if f, err = os.Create(*profile); err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "bridge child:", err)
				return 2
			}
		}
		stopProfile = func() {
			once.Do(func() {
				if f != nil {
					pprof.StopCPUProfile()
					_ = f.Close()
				}
				if *memprofile != "" {
					if m, err := os.Create(*memprofile); err == nil {
						_ = pprof.Lookup("allocs").WriteTo(m, 0)
						_ = m.Close()
					}
				}
			})
		}
		defer stopProfile()
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go func() {
			<-usr1
			stopProfile()
		}()
	}
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	go func() {
		var m runtime.MemStats
		for range usr2 {
			runtime.ReadMemStats(&m)
			fmt.Printf("runtime %d %d %d\n", m.Mallocs, m.NumGC, m.HeapInuse)
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	level, _ := zerolog.ParseLevel(cfg.Bridge.LogLevel)
	log := zerolog.New(os.Stderr).Level(level).With().Timestamp().Logger()
	bridge.LimitMemory(cfg, log)
	err = bridge.Run(ctx, cfg, log, func(bridge.Started) { fmt.Println("ready") })
	if err != nil {
		fmt.Fprintln(os.Stderr, "bridge child:", err)
		return 1
	}
	return 0
}
