package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// bridgeProc is a running bridge child.
type bridgeProc struct {
	cmd *exec.Cmd
	// exited is closed once the child has exited; err is then how.
	exited chan struct{}
	err    error
	lines  chan string // what the child prints after "ready"
}

// startBridge starts the child with the bridge's flags and returns once it
// says it is ready. The child's log goes to stderr (os.Stderr when nil).
func startBridge(args []string, cpuprofile, memprofile, gogc string, stderr io.Writer) (*bridgeProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cargs := []string{childArg}
	if cpuprofile != "" {
		cargs = append(cargs, "-cpuprofile", cpuprofile)
	}
	if memprofile != "" {
		cargs = append(cargs, "-memprofile", memprofile)
	}
	cmd := exec.Command(exe, append(cargs, args...)...)
	// The bridge dies with the bench, even when the bench is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = stderr
	if stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if gogc != "" {
		cmd.Env = append(os.Environ(), "GOGC="+gogc)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &bridgeProc{cmd: cmd, exited: make(chan struct{}), lines: make(chan string, 16)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
				continue
			}
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("the bridge stopped at start: %v", p.err)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return nil, errors.New("the bridge was not ready in 30s")
	}
}

// procStats is what /proc says about the child.
type procStats struct {
	peakRSS int64         // VmHWM, bytes
	rss     int64         // VmRSS, bytes
	cpu     time.Duration // user + system time of every thread
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

func (p *bridgeProc) stats() (procStats, error) {
	var s procStats
	pid := strconv.Itoa(p.cmd.Process.Pid)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return s, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		name, value, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmHWM":
			s.peakRSS = kb << 10
		case "VmRSS":
			s.rss = kb << 10
		}
	}
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return s, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	_, rest, _ := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%s/stat: too few fields", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpu = time.Duration(utime+stime) * clockTick
	return s, nil
}

// goRuntime is the child's count of heap allocations and of GC cycles.
type goRuntime struct {
	mallocs, gcs, heapInUse uint64
}

func (p *bridgeProc) goRuntime() (goRuntime, error) {
	var r goRuntime
	_ = p.cmd.Process.Signal(syscall.SIGUSR2)
	select {
	case line := <-p.lines:
		_, err := fmt.Sscanf(line, "runtime %d %d %d", &r.mallocs, &r.gcs, &r.heapInUse)
		return r, err
	case <-time.After(5 * time.Second):
		return r, errors.New("the bridge did not report its runtime counts")
	}
}

// stopProfile ends the child's CPU profile (it is written at once).
func (p *bridgeProc) stopProfile() { _ = p.cmd.Process.Signal(syscall.SIGUSR1) }

// stop ends the bridge as a container runtime would, and waits for it.
func (p *bridgeProc) stop() error { return p.stopWithin(20 * time.Second) }

// stopWithin sends SIGTERM and kills the bridge when it has not stopped
// within d. A bridge that had already exited reports how it did.
func (p *bridgeProc) stopWithin(d time.Duration) error {
	select {
	case <-p.exited:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		p.kill()
		return fmt.Errorf("the bridge did not stop in %s", d)
	}
}

// kill ends the bridge at once and waits for it to be gone.
func (p *bridgeProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}
