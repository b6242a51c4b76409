package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// BatchContentType is how a batch body is sent.
const BatchContentType = "application/cloudevents-batch+json"

// Client posts batch bodies to one ingest URL. Safe for concurrent use.
type Client struct {
	url     string
	success int
	host    string
	token   string
	timeout time.Duration
	http    *http.Client
	now     func() time.Time
	// own: url is the bridge's own sandbox (Own).
	own bool
}

// NewClient sends to url with a bearer token (none when empty). timeout
// bounds a whole request; connectTimeout bounds TCP and TLS set-up.
func NewClient(url, token string, timeout, connectTimeout time.Duration, conns int) *Client {
	return &Client{url: url, success: SuccessStatus(url), host: hostOf(url), token: token, timeout: timeout, http: NewHTTPClient(connectTimeout, conns), now: time.Now}
}

// Own marks the URL as the bridge's own sandbox, served by this process,
// and the token as the one made for it, good nowhere else: Probe sends it
// without asking first who answers. It returns c.
func (c *Client) Own() *Client {
	c.own = true
	return c
}

// NewHTTPClient is the HTTP client every request to Konnect goes through:
// connectTimeout bounds TCP and TLS set-up, conns idle connections are
// kept, and a redirect is never followed.
func NewHTTPClient(connectTimeout time.Duration, conns int) *http.Client {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   connectTimeout,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	// Never follow a redirect: a 301 or 302 would turn the POST into a GET,
	// and any of them may carry the token to another host. Classify makes
	// a redirect an outage that names the URL to configure instead.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &http.Client{Transport: t, CheckRedirect: noRedirect}
}

// Send posts one body holding n events and classifies the answer. It blocks
// until Konnect answers, the timeout passes or ctx ends, and returns only
// once the transport is done reading body, so the caller may reuse it.
func (c *Client) Send(ctx context.Context, body []byte) Answer {
	r, err := c.post(ctx, body, c.token)
	return Classify(r, err, c.now())
}

// post posts body once, with token as the bearer (none when empty), and
// reads the answer's first bytes.
func (c *Client) post(ctx context.Context, body []byte, token string) (Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	rb := &requestBody{Reader: bytes.NewReader(body), closed: make(chan struct{})}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, rb)
	if err != nil {
		return Reply{Host: c.host}, fmt.Errorf("build request: %w", Scrub(err, c.url))
	}
	req.ContentLength = int64(len(body))
	// net/http may still be writing the body after the answer came (an
	// early 413 or 401); it always closes it when done.
	defer rb.wait()
	req.Header.Set("Content-Type", BatchContentType)
	req.Header.Set("User-Agent", "konnect-bridge")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Reply{Host: c.host}, Scrub(err, c.url)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // keep the connection reusable
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: head, Success: c.success, Host: c.host}, nil
}

// requestBody tells when the transport has closed a request's body.
type requestBody struct {
	*bytes.Reader
	once   sync.Once
	closed chan struct{}
}

func (b *requestBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// wait blocks until the transport closed the body, which net/http does on
// every path, errors included (http.RoundTripper's contract).
func (b *requestBody) wait() { <-b.closed }

// Scrub removes the URL from an error's text: net/http repeats it, and a URL
// may carry credentials in its user information or query. net/http rewrites
// the URL it repeats (it masks a password, lower-cases the scheme), so the
// URL is taken out of the *url.Error by structure, not by matching its text.
// It still wraps err, so that Classify can tell a timeout from another
// failure.
func Scrub(err error, raw string) error {
	text := err.Error()
	if ue, ok := errors.AsType[*url.Error](err); ok {
		text = ue.Op + " Konnect: " + ue.Err.Error()
	}
	return scrubbed{text: strings.ReplaceAll(text, raw, "Konnect"), err: err}
}

type scrubbed struct {
	text string
	err  error
}

func (s scrubbed) Error() string { return s.text }
func (s scrubbed) Unwrap() error { return s.err }

// ProblemDetail reads an RFC 9457 problem (detail and the invalid
// parameters) or, for any other body, its first line.
func ProblemDetail(r io.Reader) string {
	raw, _ := io.ReadAll(r)
	if p, ok := readProblem(raw); ok {
		s := p.Detail
		if s == "" {
			s = p.Title
		}
		for _, ip := range p.Invalid {
			s += "; " + ip.Field + ": " + ip.Reason
		}
		return s
	}
	s, _, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// problem is the part of an RFC 9457 problem a reason names.
type problem struct {
	Title   string `json:"title"`
	Detail  string `json:"detail"`
	Invalid []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"invalid_parameters"`
}

// readProblem reads raw as a problem: ok when it has a title or a detail.
func readProblem(raw []byte) (p problem, ok bool) {
	return p, json.Unmarshal(raw, &p) == nil && (p.Detail != "" || p.Title != "")
}

// problemTitle is the title of an application/problem+json answer; "" for
// any other content type.
func problemTitle(contentType string, body []byte) string {
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/problem+json" {
		return ""
	}
	p, _ := readProblem(body)
	return p.Title
}

// hostOf is the host of url, for an answer's Reason; never its user
// information or query.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "KONNECT_URL"
}
