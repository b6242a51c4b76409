package decode_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/event/decode"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// decodedAs is what a user expects one event of a message to become: its
// attributes, or the sentinel its error wraps and words of the reason.
type decodedAs struct {
	err  error
	says string

	specversion, id, source, typ, subject, time, contentType, data string
	raw                                                            string
}

// guideRun is the first run of the Konnect guide as a structured event.
var guideRun = string(testkit.Guide()[0].JSON())

var guideDecoded = decodedAs{
	specversion: "1.0", id: "8655CDD7-0775-4AEA-AF8C-89C47EBC8828", source: "acme-platform", typ: "agent_run",
	subject: "acme-inc", time: "2026-11-27T08:00:00Z", contentType: "application/json", data: `{"agent_name":"summarizer"}`,
}

// binaryRun is the same run in binary mode: ce- headers carry the
// attributes, the payload is the data.
func binaryRun(prefix string) nats.Header {
	return nats.Header{
		prefix + "specversion": {"1.0"},
		prefix + "id":          {"8655CDD7-0775-4AEA-AF8C-89C47EBC8828"},
		prefix + "source":      {"acme-platform"},
		prefix + "type":        {"agent_run"},
		prefix + "subject":     {"acme-inc"},
		prefix + "time":        {"2026-11-27T08:00:00Z"},
		"Content-Type":         {"application/json"},
	}
}

func header(h nats.Header, kv ...string) nats.Header {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(h, kv[i])
			continue
		}
		h[kv[i]] = []string{kv[i+1]}
	}
	return h
}

func TestDecode(t *testing.T) {
	const data = `{"agent_name":"summarizer"}`
	second := strings.Replace(guideRun, "8655CDD7", "second", 1)
	tests := map[string]struct {
		header  nats.Header
		payload string
		want    []decodedAs
	}{
		"structured": {payload: guideRun, want: []decodedAs{guideDecoded}},
		"structured after white space": {
			payload: "\r\n\t " + guideRun + "\n", want: []decodedAs{guideDecoded},
		},
		"structured with an extension": {
			payload: `{"specversion":"1.0","id":"r1","source":"acme-platform","type":"agent_run","subject":"acme-inc","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`,
			want:    []decodedAs{{specversion: "1.0", id: "r1", source: "acme-platform", typ: "agent_run", subject: "acme-inc"}},
		},
		"structured without an id (the bridge derives one)": {
			payload: `{"specversion":"1.0","source":"acme-platform","type":"agent_run","subject":"acme-inc"}`,
			want:    []decodedAs{{specversion: "1.0", source: "acme-platform", typ: "agent_run", subject: "acme-inc"}},
		},
		"structured specversion 0.3 (Validate refuses it)": {
			payload: `{"specversion":"0.3","id":"r1","source":"acme-platform","type":"agent_run","subject":"acme-inc"}`,
			want:    []decodedAs{{specversion: "0.3", id: "r1", source: "acme-platform", typ: "agent_run", subject: "acme-inc"}},
		},
		"structured missing specversion": {
			payload: `{"id":"r1","source":"acme-platform","type":"agent_run","subject":"acme-inc"}`,
			want:    []decodedAs{{err: event.ErrInvalid, says: "specversion"}},
		},
		"structured with a bad time": {
			payload: `{"specversion":"1.0","id":"r1","source":"acme-platform","type":"agent_run","subject":"acme-inc","time":"yesterday"}`,
			want:    []decodedAs{{err: event.ErrInvalid}},
		},
		"structured id a number": {
			payload: `{"specversion":"1.0","id":7,"source":"acme-platform","type":"agent_run","subject":"acme-inc"}`,
			want:    []decodedAs{{err: event.ErrInvalid}},
		},
		"object with a trailing comma": {
			payload: `{"specversion":"1.0","id":"r1",}`, want: []decodedAs{{err: decode.ErrUndecodable, says: "not a JSON object"}},
		},
		"binary": {
			header: binaryRun("ce-"), payload: data, want: []decodedAs{guideDecoded},
		},
		"binary headers in upper case": {
			header: binaryRun("CE-"), payload: data, want: []decodedAs{guideDecoded},
		},
		"binary headers in mixed case": {
			header: header(nats.Header{"Ce-SpecVersion": {"1.0"}, "Ce-Id": {guideDecoded.id}, "cE-Source": {"acme-platform"},
				"CE-TYPE": {"agent_run"}, "ce-Subject": {"acme-inc"}, "Ce-Time": {"2026-11-27T08:00:00Z"}, "Content-Type": {"application/json"}}),
			payload: data, want: []decodedAs{guideDecoded},
		},
		"binary headers with ce_": {
			header: binaryRun("ce_"), payload: data, want: []decodedAs{guideDecoded},
		},
		"binary content type from ce-datacontenttype": {
			header: header(binaryRun("ce-"), "Content-Type", "", "ce-datacontenttype", "application/json"), payload: data,
			want: []decodedAs{guideDecoded},
		},
		"binary Content-Type wins over ce-datacontenttype": {
			header:  header(binaryRun("ce-"), "Content-Type", "application/json; charset=utf-8", "ce-datacontenttype", "text/plain"),
			payload: data,
			want:    []decodedAs{withContentType(guideDecoded, "application/json; charset=utf-8")},
		},
		"binary content-type in lower case": {
			header:  header(binaryRun("ce-"), "Content-Type", "", "content-type", "application/json; charset=utf-8"),
			payload: data,
			want:    []decodedAs{withContentType(guideDecoded, "application/json; charset=utf-8")},
		},
		"binary without a content type": {
			header: header(binaryRun("ce-"), "Content-Type", ""), payload: data,
			want: []decodedAs{withContentType(guideDecoded, "")},
		},
		"binary without data": {
			header: binaryRun("ce-"), payload: " \n",
			want: []decodedAs{func() decodedAs { d := guideDecoded; d.data = ""; return d }()},
		},
		"binary with a JSON array as payload (Validate refuses it)": {
			header: binaryRun("ce-"), payload: `[1,2]`,
			want: []decodedAs{func() decodedAs { d := guideDecoded; d.data = `[1,2]`; return d }()},
		},
		"binary with a bad ce-time": {
			header: header(binaryRun("ce-"), "ce-time", "27/11/2026 08:00"), payload: data,
			want: []decodedAs{{err: event.ErrInvalid, says: `ce-time: "27/11/2026 08:00" is not RFC 3339`}},
		},
		"binary specversion 0.3": {
			header: header(binaryRun("ce-"), "ce-specversion", "0.3"), payload: data,
			want: []decodedAs{{err: event.ErrInvalid, says: `ce-specversion: "0.3" is not 1.0`}},
		},
		"binary payload not JSON": {
			header: binaryRun("ce-"), payload: "agent_name=summarizer",
			want: []decodedAs{{err: event.ErrInvalid, says: "payload of a binary-mode event is not JSON"}},
		},
		"binary wins over a structured payload": {
			header: binaryRun("ce-"), payload: `{"specversion":"1.0","id":"other"}`,
			want: []decodedAs{func() decodedAs { d := guideDecoded; d.data = `{"specversion":"1.0","id":"other"}`; return d }()},
		},
		"ce- headers without specversion are not binary mode": {
			header: header(binaryRun("ce-"), "ce-specversion", ""), payload: data,
			want: []decodedAs{{err: event.ErrInvalid, says: "specversion"}},
		},
		"array of two": {
			payload: "[" + guideRun + ", " + second + "]",
			want: []decodedAs{withRaw(guideDecoded, guideRun), func() decodedAs {
				d := withRaw(guideDecoded, second)
				d.id = "second-0775-4AEA-AF8C-89C47EBC8828"
				return d
			}()},
		},
		"array after white space": {
			payload: "\n [" + guideRun + "]", want: []decodedAs{withRaw(guideDecoded, guideRun)},
		},
		"array with one bad element among good ones": {
			payload: "[" + guideRun + `,{"id":"no-specversion"},42,` + second + "]",
			want: []decodedAs{
				withRaw(guideDecoded, guideRun),
				{err: event.ErrInvalid, says: "specversion", raw: `{"id":"no-specversion"}`},
				{err: decode.ErrUndecodable, raw: "42"},
				func() decodedAs {
					d := withRaw(guideDecoded, second)
					d.id = "second-0775-4AEA-AF8C-89C47EBC8828"
					return d
				}(),
			},
		},
		"empty array": {payload: "[]", want: []decodedAs{{err: decode.ErrUndecodable, says: "empty array"}}},
		"broken array": {
			payload: "[" + guideRun + ",", want: []decodedAs{{err: decode.ErrUndecodable, says: "not a JSON array"}},
		},
		"not JSON":         {payload: "agent_run acme-inc summarizer", want: []decodedAs{{err: decode.ErrUndecodable}}},
		"empty":            {payload: "", want: []decodedAs{{err: decode.ErrUndecodable}}},
		"only white space": {payload: " \n", want: []decodedAs{{err: decode.ErrUndecodable}}},
		"a JSON string":    {payload: `"agent_run"`, want: []decodedAs{{err: decode.ErrUndecodable}}},
		"a JSON number":    {payload: `42`, want: []decodedAs{{err: decode.ErrUndecodable}}},
		"JSON null":        {payload: `null`, want: []decodedAs{{err: decode.ErrUndecodable}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := decode.Decode(tc.header, []byte(tc.payload))
			if len(got) != len(tc.want) {
				t.Fatalf("Decode gave %d events, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				checkDecoded(t, i, got[i], w)
			}
		})
	}
}

func withRaw(d decodedAs, raw string) decodedAs { d.raw = raw; return d }

func withContentType(d decodedAs, ct string) decodedAs { d.contentType = ct; return d }

func checkDecoded(t *testing.T, i int, got decode.Decoded, want decodedAs) {
	t.Helper()
	if want.raw != string(got.Raw) {
		t.Errorf("[%d] Raw = %q, want %q", i, got.Raw, want.raw)
	}
	if want.err != nil {
		if !errors.Is(got.Err, want.err) {
			t.Errorf("[%d] Err = %v, want one wrapping %q", i, got.Err, want.err)
		} else if !strings.Contains(got.Err.Error(), want.says) {
			t.Errorf("[%d] Err = %q, want it to say %q", i, got.Err, want.says)
		}
		if got.Event != nil {
			t.Errorf("[%d] an event came with the error: %v", i, got.Event)
		}
		return
	}
	if got.Err != nil {
		t.Fatalf("[%d] Err = %v, want an event", i, got.Err)
	}
	e := got.Event
	tm := ""
	if !e.Time().IsZero() {
		tm = e.Time().UTC().Format(time.RFC3339)
	}
	attrs := []struct{ name, got, want string }{
		{"specversion", e.SpecVersion(), want.specversion},
		{"id", e.ID(), want.id},
		{"source", e.Source(), want.source},
		{"type", e.Type(), want.typ},
		{"subject", e.Subject(), want.subject},
		{"time", tm, want.time},
		{"datacontenttype", e.DataContentType(), want.contentType},
		{"data", string(e.Data()), want.data},
	}
	for _, a := range attrs {
		if a.got != a.want {
			t.Errorf("[%d] %s = %q, want %q", i, a.name, a.got, a.want)
		}
	}
}

// The producer's source reaches Konnect exactly as written, in every form:
// Konnect bills and deduplicates on (source, id) as the producer wrote them,
// and the CloudEvents SDK would re-encode a source it parsed.
func TestSourceIsKeptVerbatim(t *testing.T) {
	sources := []string{"acme-platform", "acme platform", "Acme-Platform/ü", "https://acme.example/agents?x=1", "urn:acme:platform"}
	for _, src := range sources {
		quoted, _ := json.Marshal(src)
		forms := map[string]struct {
			h    nats.Header
			data []byte
		}{
			"structured":                   {nil, []byte(`{"specversion":"1.0","id":"1","source":` + string(quoted) + `,"type":"agent_run","subject":"acme-inc"}`)},
			"structured with an extension": {nil, []byte(`{"specversion":"1.0","id":"1","source":` + string(quoted) + `,"type":"agent_run","subject":"acme-inc","traceparent":"00-1-2-01"}`)},
			"binary":                       {nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {src}, "ce-type": {"agent_run"}, "ce-subject": {"acme-inc"}}, nil},
		}
		for form, f := range forms {
			d := decode.Decode(f.h, f.data)
			if d[0].Err != nil {
				t.Fatalf("%s %q: %v", form, src, d[0].Err)
			}
			var got struct{ Source string }
			if err := json.Unmarshal(event.AppendJSON(nil, d[0].Event), &got); err != nil {
				t.Fatal(err)
			}
			if got.Source != src {
				t.Errorf("%s: source %q reaches Konnect as %q", form, src, got.Source)
			}
		}
	}
}
