package bridge

import (
	"context"
	"errors"
	"testing"
)

// The first actor to fail stops the others, and every error an actor
// returns reaches the caller.
func TestGroupFirstToFailStopsTheRestAndKeepsEveryError(t *testing.T) {
	errPull := errors.New("subscription ended")
	errStore := errors.New("dead letters not stored")
	var g group
	ctx, cancel := context.WithCancel(context.Background())
	g.add("pull", func() error { return errPull }, func() {})
	g.add("publisher", func() error { <-ctx.Done(); return nil }, cancel)
	stored := make(chan struct{})
	g.add("store", func() error { <-stored; return errStore }, func() { close(stored) })
	g.background(context.Background(), "watch", func(context.Context) {})
	err := g.run()
	for _, want := range []error{errPull, errStore} {
		if !errors.Is(err, want) {
			t.Errorf("run() = %v, want it to hold %v", err, want)
		}
	}
	if ctx.Err() == nil {
		t.Error("the publisher was not interrupted when the pull failed")
	}
}

// A clean stop is a nil error, and an empty group returns at once.
func TestGroupCleanStop(t *testing.T) {
	var empty group
	if err := empty.run(); err != nil {
		t.Fatalf("empty group: %v", err)
	}
	var g group
	ctx, cancel := context.WithCancel(context.Background())
	g.add("signal", func() error { return nil }, func() {})
	g.add("publisher", func() error { <-ctx.Done(); return nil }, cancel)
	if err := g.run(); err != nil {
		t.Fatalf("run() = %v, want nil", err)
	}
}
