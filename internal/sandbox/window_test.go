package sandbox

import "testing"

// With a window, the oldest key is forgotten once the window is full, and
// the rest are still known: memory is bounded, deduplication recent.
func TestDedupeWindowForgetsTheOldestKey(t *testing.T) {
	s := New(WithKeep(1))
	s.window = 3
	for _, id := range []string{"a", "b", "c", "d"} {
		if !s.remember(keyOf("p", id)) {
			t.Fatalf("%s taken for a duplicate", id)
		}
	}
	if !s.remember(keyOf("p", "a")) {
		t.Error("a, older than the window, is still remembered")
	}
	if s.remember(keyOf("p", "d")) {
		t.Error("d, inside the window, was forgotten")
	}
	if len(s.seen) != 3 {
		t.Errorf("%d keys remembered, want the window's 3", len(s.seen))
	}
}
