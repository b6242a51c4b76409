package sandbox

import (
	"bufio"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Fault lets a test answer an ingest request itself, before the sandbox checks
// anything (even auth). It sees the request with its body readable. It returns
// true when it answered (or took the connection with http.Hijacker); false
// lets the sandbox answer normally, and then it must not have written anything.
// A Fault is called concurrently when requests are.
type Fault func(w http.ResponseWriter, r *http.Request) (answered bool)

// Answer is a Fault answering every request with status and a problem+json
// body, with a Retry-After header in whole seconds (rounded up) when retryAfter
// is positive: Answer(503, 2*time.Second), Answer(429, 0).
func Answer(status int, retryAfter time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
		}
		detail := fmt.Sprintf("sandbox fault: answering %d", status)
		(&problem{Type: fmt.Sprintf("https://httpstatuses.com/%d", status), Title: http.StatusText(status),
			Status: status, Detail: detail, Instance: "kong:trace:fault"}).write(w)
		return true
	}
}

// Drop is a Fault closing the connection without an answer, as a crashed
// server or a broken network would: the client sees an error, not a status.
// It needs an HTTP/1 connection (httptest.NewServer); one that cannot be
// hijacked gets a 502 instead.
func Drop() Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return Answer(http.StatusBadGateway, 0)(w, r)
		}
		_ = conn.Close()
		return true
	}
}

// Delay is a Fault holding every request for d (or until the client gives up)
// and then letting the sandbox answer normally: a slow Konnect.
func Delay(d time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		return false
	}
}

// Times applies f to the first n requests it sees and passes the rest on to
// the sandbox: Times(2, Answer(503, time.Second)) fails twice, then recovers.
func Times(n int, f Fault) Fault {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) bool {
		if seen.Add(1) > int64(n) {
			return false
		}
		return f(w, r)
	}
}

// recorder reports the status a Fault answers once, before the client can
// see it, keeping the connection hijackable and flushable.
type recorder struct {
	http.ResponseWriter
	answered func(status int) // 0 when the Fault took the connection
	done     bool
}

func (r *recorder) answer(status int) {
	if !r.done {
		r.done = true
		r.answered(status)
	}
}

func (r *recorder) WriteHeader(code int) {
	if code >= 200 {
		r.answer(code)
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.answer(http.StatusOK)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	r.answer(http.StatusOK)
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		r.answer(0)
	}
	return conn, rw, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
