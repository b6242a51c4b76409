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
// CPU profile (and writes the allocation profile) on SIGUSR1, prints its
// allocation and GC counts on SIGUSR2, and stops the bridge on SIGTERM.
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
	stopProfiles, err := profiles(*profile, *memprofile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bridge child:", err)
		return 2
	}
	defer stopProfiles()
	reportMemStats()
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

// profiles starts the CPU profile (to cpu) and the allocation profile (to
// mem), either may be empty, and writes them on SIGUSR1 or when stop is
// called, whichever comes first.
func profiles(cpu, mem string) (stop func(), err error) {
	if cpu == "" && mem == "" {
		return func() {}, nil
	}
	if mem != "" {
		runtime.MemProfileRate = 4 << 10
	}
	var f *os.File
	if cpu != "" {
		if f, err = os.Create(cpu); err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			return nil, err
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if f != nil {
				pprof.StopCPUProfile()
				_ = f.Close()
			}
			if mem != "" {
				if m, err := os.Create(mem); err == nil {
					_ = pprof.Lookup("allocs").WriteTo(m, 0)
					_ = m.Close()
				}
			}
		})
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		<-usr1
		stop()
	}()
	return stop, nil
}

// reportMemStats prints, from now on, the allocation and GC counts and the
// heap in use each time the bench sends SIGUSR2.
func reportMemStats() {
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	go func() {
		var m runtime.MemStats
		for range usr2 {
			runtime.ReadMemStats(&m)
			fmt.Printf("runtime %d %d %d\n", m.Mallocs, m.NumGC, m.HeapInuse)
		}
	}()
}
