package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
)

// ErrNoReadRights means the token may not read what a check needs (Konnect
// answered 401 or 403). The caller says "cannot check" and carries on:
// delivery needs only the Ingest role.
var ErrNoReadRights = errors.New("cannot check: the token lacks the right to read")

// ErrUnavailable means Konnect's read API did not answer, or answered
// 5xx: the caller says "cannot tell", names KONNECT_URL and tries later.
var ErrUnavailable = errors.New("Konnect's read API is unavailable")

// unreachable is a request that got no answer.
type unreachable struct{ error }

func (u unreachable) Unwrap() error { return u.error }

func (unreachable) Is(target error) bool { return target == ErrUnavailable }

// ErrNoReadAPI means KONNECT_URL is not a v3 ingest URL, so the read API
// cannot be found next to it. The caller says "cannot check".
var ErrNoReadAPI = errors.New("cannot check: KONNECT_URL does not end in /openmeter/events, so the read API is not known")

// eventsPath is where ingest and the list of events live under the base URL.
const eventsPath = "/openmeter/events"

// BaseURL is the API's base URL derived from an ingest URL such as
// https://us.api.konghq.com/v3/openmeter/events: the same host and prefix,
// without /openmeter/events. It is "" for a URL that does not end so.
func BaseURL(ingestURL string) string {
	u, err := url.Parse(ingestURL)
	if err != nil || !strings.HasSuffix(strings.TrimRight(u.Path, "/"), eventsPath) {
		return ""
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), eventsPath)
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}

// Client reads Konnect's Metering & Billing API. Safe for concurrent use.
// Its errors never carry the token, nor a URL's credentials or query.
type Client struct {
	base    string
	token   string
	timeout time.Duration
	http    *http.Client
}

// NewClient reads the API next to ingestURL with a bearer token (none when
// empty); timeout bounds each request.
func NewClient(ingestURL, token string, timeout, connectTimeout time.Duration) *Client {
	return &Client{base: BaseURL(ingestURL), token: token, timeout: timeout, http: publish.NewHTTPClient(connectTimeout, 2)}
}

// apiError is an answer other than 2xx.
type apiError struct {
	what   string
	status int
	// said names the host, the status, the content type, a problem's
	// title and its detail, as delivery's reasons do.
	said string
}

func (e *apiError) Error() string {
	if e.status == http.StatusUnauthorized || e.status == http.StatusForbidden {
		return fmt.Sprintf("cannot check: the token lacks the right to read %s (%s); give its system account a role that may read Metering & Billing, delivery is not affected", e.what, e.said)
	}
	return fmt.Sprintf("reading %s: %s", e.what, e.said)
}

func (e *apiError) Is(target error) bool {
	return (target == ErrNoReadRights && (e.status == http.StatusUnauthorized || e.status == http.StatusForbidden)) ||
		(target == ErrUnavailable && e.status >= 500)
}

// statusOf is the status of Konnect's answer behind err; 0 when err is
// nil or no answer.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	return 0
}

// do sends one request to path (with query) and decodes a 2xx answer's JSON
// into out. what names the resource for errors.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any, what string) error {
	if c.base == "" {
		return ErrNoReadAPI
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("reading %s at %s: %s", what, config.RedactURL(c.base), publish.Scrub(err, target))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "konnect-bridge")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return unreachable{fmt.Errorf("reading %s at %s: %w", what, config.RedactURL(c.base), publish.Scrub(err, target))}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		r := publish.Reply{Status: resp.StatusCode, Header: resp.Header, Body: body, Host: req.URL.Host}
		return &apiError{what: what, status: resp.StatusCode, said: publish.Said(r, publish.ProblemDetail(bytes.NewReader(body)))}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("reading %s: the answer is not the JSON expected: %w", what, err)
	}
	return nil
}
