package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// splitArray, the scanner's one pass, splits exactly the arrays
// encoding/json reads, into the same elements, and refuses the others.
func FuzzSplitArray(f *testing.F) {
	f.Add([]byte(`[{"a":[1,{"b":"\u00e9\n"}]} , 2 ,"x",[ ], -0.5e+3, true, null]`), 10)
	f.Add([]byte(`[1,2,3]`), 2)
	f.Add([]byte(`[]`), 1)
	f.Add([]byte(`[1,]`), 5)
	f.Add([]byte(`[1] x`), 5)
	f.Add([]byte(`[`+string(bytes.Repeat([]byte("["), 80))+string(bytes.Repeat([]byte("]"), 80))+`]`), 5)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if len(data) == 0 || data[0] != '[' {
			return
		}
		max = 1 + max&0xff
		got, err := splitArray(data, max)
		var want []json.RawMessage
		switch werr := json.Unmarshal(data, &want); {
		case werr != nil:
			if err == nil {
				t.Fatalf("split %q, which encoding/json refuses (%v)", data, werr)
			}
		case len(want) > max:
			if !errors.Is(err, ErrTooManyEvents) {
				t.Fatalf("%d elements, max %d: got %v, want ErrTooManyEvents", len(want), max, err)
			}
		case err != nil:
			t.Fatalf("refused %q (%v), which encoding/json reads", data, err)
		case len(got) != len(want):
			t.Fatalf("split %q into %d elements, want %d", data, len(got), len(want))
		default:
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("element %d is %q, want %q", i, got[i], want[i])
				}
			}
		}
	})
}
