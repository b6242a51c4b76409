package bridge

import (
	"context"
	"errors"
	"fmt"
)

// group runs actors in the manner of oklog/run: each actor runs until it
// fails, finishes or is interrupted, and the first to return interrupts
// all the others. run waits for every actor and returns all their errors,
// so that none is lost on the way to the exit code. It is a dozen lines,
// so it is written here rather than taken as a dependency, and it joins
// every error where oklog/run keeps only the first.
type group struct{ actors []actor }

// actor is one running part, whose name prefixes its error (none when
// ""): run returns once interrupt was called (or
// sooner, on failure); interrupt must be safe to call more than once and
// must not block for long.
type actor struct {
	name      string
	run       func() error
	interrupt func()
}

func (g *group) add(name string, run func() error, interrupt func()) {
	g.actors = append(g.actors, actor{name: name, run: run, interrupt: interrupt})
}

// background adds f, which may return before it is asked to (a watcher
// that is done): its actor then waits to be interrupted, so that it never
// stops the others.
func (g *group) background(parent context.Context, name string, f func(context.Context)) {
	ctx, cancel := context.WithCancel(parent)
	g.add(name, func() error {
		f(ctx)
		<-ctx.Done()
		return nil
	}, cancel)
}

// run runs every actor and returns once all of them have.
func (g *group) run() error {
	if len(g.actors) == 0 {
		return nil
	}
	errs := make(chan error, len(g.actors))
	for _, a := range g.actors {
		go func() {
			err := a.run()
			if err != nil && a.name != "" {
				err = fmt.Errorf("%s: %w", a.name, err)
			}
			errs <- err
		}()
	}
	all := []error{<-errs}
	for _, a := range g.actors {
		a.interrupt()
	}
	for range len(g.actors) - 1 {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}
