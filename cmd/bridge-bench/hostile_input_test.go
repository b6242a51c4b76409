package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
)

// The hostile messages are exactly the server's max_payload, headers
// included, and hold what their phase says: checked with the sink's own
// reading of Konnect's contract.
func TestHostileMessagesFillMaxPayload(t *testing.T) {
	for _, size := range []int{64 << 10, 1 << 20, 1<<20 + 1} {
		junk := junkArray(size)
		var ones []int
		if len(junk) != size || json.Unmarshal(junk, &ones) != nil || len(ones) < size/2-1 {
			t.Errorf("junk array of %d: %d bytes, %d elements", size, len(junk), len(ones))
		}

		packed, ids := packedArray(size, 3, nil)
		events, err := parseBatch(packed, false, nil)
		if len(packed) != size || err != nil || len(events) != len(ids) || len(ids) < size/400 {
			t.Errorf("packed array of %d: %d bytes, %d events for %d ids, %v", size, len(packed), len(events), len(ids), err)
		}
		if len(events) > 0 && string(events[len(events)-1].id) != ids[len(ids)-1] {
			t.Errorf("packed array: last id %s, want %s", events[len(events)-1].id, ids[len(ids)-1])
		}

		giant := giantEvent(size, "giant-1")
		if e, err := parseBatch(giant, true, nil); len(giant) != size || err != nil || string(e[0].id) != "giant-1" {
			t.Errorf("giant event of %d: %d bytes, %v", size, len(giant), err)
		}

		mixed := mixedArray(size, "mixed-1", 1)
		var elems []json.RawMessage
		if len(mixed) != size || json.Unmarshal(mixed, &elems) != nil || len(elems) != 2 || elems[1][0] != '"' {
			t.Errorf("mixed array of %d: %d bytes, %d elements", size, len(mixed), len(elems))
		} else if e, err := parseBatch(elems[0], true, nil); err != nil || string(e[0].id) != "mixed-1" {
			t.Errorf("mixed array: its event: %v", err)
		}

		m := binaryEvent(size, "binary-1")
		if n := len(m.Data) + headerSize(m.Header); n != size || !json.Valid(m.Data) || m.Header.Get("ce-id") != "binary-1" {
			t.Errorf("binary event of %d: %d bytes with headers, valid data %v", size, n, json.Valid(m.Data))
		}
		if !bytes.HasPrefix(m.Data, []byte(`{"agent_name"`)) {
			t.Errorf("binary event data: %.40s", m.Data)
		}
	}
}

// A binary-mode message of max_payload bytes, headers counted as the
// client counts them, is taken; one byte more is refused.
func TestBinaryEventIsExactlyMaxPayload(t *testing.T) {
	const maxPayload = 64 << 10
	ns, err := startNATS(t.TempDir(), maxPayload)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := nc.MaxPayload(); got != maxPayload {
		t.Fatalf("max_payload %d, want %d", got, maxPayload)
	}
	if err := nc.PublishMsg(binaryEvent(maxPayload, "binary-1")); err != nil {
		t.Errorf("a binary event of max_payload: %v", err)
	}
	if err := nc.PublishMsg(binaryEvent(maxPayload+1, "binary-2")); !errors.Is(err, nats.ErrMaxPayload) {
		t.Errorf("a binary event of max_payload + 1: %v, want %v", err, nats.ErrMaxPayload)
	}
}

// The mapped phases' records are exactly max_payload and hostile as their
// phase says: a tool list that is valid JSON, nesting past the decoder's
// 10,000 levels, a token count that is a long string.
func TestMappedHostileRecordsFillMaxPayload(t *testing.T) {
	for _, size := range []int{64 << 10, 1 << 20, 1<<20 + 1} {
		var tools struct {
			RunID string `json:"run_id"`
			Tools []struct{ OK bool }
		}
		b := toolsRecord(size, "mapped-tools-1")
		if len(b) != size || json.Unmarshal(b, &tools) != nil || tools.RunID != "mapped-tools-1" || len(tools.Tools) < size/14 {
			t.Errorf("tool list of %d: %d bytes, run %q, %d calls", size, len(b), tools.RunID, len(tools.Tools))
		}

		b = deepRecord(size, "mapped-deep-1")
		var syntax *json.SyntaxError
		if err := json.Unmarshal(b, new(any)); len(b) != size || !errors.As(err, &syntax) || bytes.Count(b, []byte("{")) != bytes.Count(b, []byte("}")) {
			t.Errorf("deep record of %d: %d bytes, %v", size, len(b), err)
		}
		if depth := bytes.Count(b, []byte(`{"u":`)); depth <= 10_000 {
			t.Errorf("deep record of %d: nested %d levels", size, depth)
		}

		var long struct {
			Usage struct {
				InputTokens string `json:"input_tokens"`
			}
		}
		b = longStringRecord(size, "mapped-string-1")
		if len(b) != size || json.Unmarshal(b, &long) != nil || len(long.Usage.InputTokens) < size-200 {
			t.Errorf("long string record of %d: %d bytes, a string of %d", size, len(b), len(long.Usage.InputTokens))
		}
	}
}
