package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// routeReads serves the read API of Konnect's Metering & Billing, under
// Konnect's prefix and self-hosted OpenMeter's, as the published spec
// (openmeter-v3-openapi.yaml) describes it:
//
//	GET  {prefix}/openmeter/events                            list-metering-events, cursor pages
//	GET  {prefix}/openmeter/meters                            list-meters, page pages
//	GET  {prefix}/openmeter/customers                         list-customers, page pages
//	POST {prefix}/openmeter/meters/{meterId}/query            query-meter
//	GET  {prefix}/openmeter/features[/{featureId}]            list-features (page pages), get-feature
//	GET  {prefix}/openmeter/plans[/{planId}]                  list-plans (page pages), get-plan
//	GET  {prefix}/openmeter/subscriptions[/{subscriptionId}]  list-subscriptions (page pages), get-subscription
//	GET  {prefix}/openmeter/customers/{customerId}/charges    list-customer-charges, page pages
//	GET  {prefix}/openmeter/profiles                          list-billing-profiles, page pages
func (s *Sandbox) routeReads() {
	for _, prefix := range []string{"/v3", "/api/v3"} {
		read := func(method, path string, h func(w http.ResponseWriter, r *http.Request) *problem) {
			s.mux.HandleFunc(method+" "+prefix+path, s.reading(path, h))
		}
		read("GET", "/openmeter/events", s.listEvents)
		read("GET", "/openmeter/meters", s.listMeters)
		read("GET", "/openmeter/customers", s.listCustomers)
		read("POST", "/openmeter/meters/{meterId}/query", s.queryMeter)
		read("GET", "/openmeter/features", s.listFeatures)
		read("GET", "/openmeter/features/{featureId}", s.getFeature)
		read("GET", "/openmeter/plans", s.listPlans)
		read("GET", "/openmeter/plans/{planId}", s.getPlan)
		read("GET", "/openmeter/subscriptions", s.listSubscriptions)
		read("GET", "/openmeter/subscriptions/{subscriptionId}", s.getSubscription)
		read("GET", "/openmeter/customers/{customerId}/charges", s.listCharges)
		read("GET", "/openmeter/profiles", s.listProfiles)
	}
}

// SetReadAnswer makes the read at path, a path of routeReads as the spec
// writes it ("/openmeter/customers/{customerId}/charges"), answer status
// as a problem once the token is checked: 403 as for a token without
// that right, 404 as a deployment without that read. 0 serves it again.
func (s *Sandbox) SetReadAnswer(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readAnswers == nil {
		s.readAnswers = map[string]int{}
	}
	s.readAnswers[path] = status
}

// reading checks the token, the right to read and the answer SetReadAnswer
// set for path before h answers.
func (s *Sandbox) reading(path string, h func(w http.ResponseWriter, r *http.Request) *problem) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, _ := s.settings()
		s.mu.Lock()
		noRead, status := s.billing.noRead, s.readAnswers[path]
		s.mu.Unlock()
		p := s.authenticate(r, token)
		if p == nil && noRead {
			p = s.newProblem(http.StatusForbidden, "the token may ingest events but not read Metering & Billing", nil)
		}
		if p == nil && status != 0 {
			p = s.newProblem(status, fmt.Sprintf("sandbox: %s answering %d", path, status), nil)
		}
		if p == nil {
			p = h(w, r)
		}
		if p != nil {
			p.write(w)
		}
	}
}

func writeOK(w http.ResponseWriter, v any) *problem {
	body, err := json.Marshal(v)
	if err != nil {
		return &problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Detail: err.Error(), Instance: "kong:trace:0"}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
	return nil
}

// badQuery is a 400 naming the query parameter.
func (s *Sandbox) badQuery(param, reason string) *problem {
	return s.newProblem(http.StatusBadRequest, fmt.Sprintf("query parameter %s %s", param, reason),
		[]invalidParameter{{Field: param, Rule: "invalid", Source: "query", Reason: reason}})
}

// filterKey is filter[field] or filter[field][op].
var filterKey = regexp.MustCompile(`^filter\[([a-z_]+)\](?:\[([a-z]+)\])?$`)

// condition is one filter of a list: field op value.
type condition struct{ field, op, value string }

// parseQuery reads the page and filter parameters of a list; fields are the
// filterable fields, anything else is refused like Konnect does.
func (s *Sandbox) parseQuery(q url.Values, fields map[string]bool, pageKeys ...string) (map[string]string, []condition, *problem) {
	page := map[string]string{}
	var conds []condition
	for k, vs := range q {
		v := vs[0]
		if m := filterKey.FindStringSubmatch(k); m != nil {
			if !fields[m[1]] {
				return nil, nil, s.badQuery(k, "is not a filter of this list")
			}
			op := m[2]
			if op == "" {
				op = "eq"
			}
			conds = append(conds, condition{m[1], op, v})
			continue
		}
		name, ok := strings.CutPrefix(k, "page[")
		name, closed := strings.CutSuffix(name, "]")
		if ok && closed && slices.Contains(pageKeys, name) {
			page[name] = v
			continue
		}
		if k == "sort" {
			continue
		}
		return nil, nil, s.badQuery(k, "is not a parameter of this list")
	}
	return page, conds, nil
}

// pageSize reads page[size]: 1 to 1000, 100 by default.
func (s *Sandbox) pageSize(page map[string]string) (int, *problem) {
	v, ok := page["size"]
	if !ok {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, s.badQuery("page[size]", "must be a whole number from 1 to 1000")
	}
	return n, nil
}

// matchString applies a string filter (eq, neq, contains, oeq).
func matchString(c condition, v string) bool {
	switch c.op {
	case "neq":
		return v != c.value
	case "contains":
		return strings.Contains(v, c.value)
	case "oeq":
		return slices.Contains(strings.Split(c.value, ","), v)
	default:
		return v == c.value
	}
}

// matchTime applies a date-time filter (eq, lt, lte, gt, gte).
func matchTime(c condition, t time.Time) (bool, error) {
	at, err := time.Parse(time.RFC3339, c.value)
	if err != nil {
		return false, err
	}
	switch c.op {
	case "lt":
		return t.Before(at), nil
	case "lte":
		return !t.After(at), nil
	case "gt":
		return t.After(at), nil
	case "gte":
		return !t.Before(at), nil
	default:
		return t.Equal(at), nil
	}
}

// resolvePath reads a meter's JSONPath ($.a.b, $.a[0]) on data. The sandbox
// evaluates paths on its own, apart from the bridge's code, so that it
// stands in for Konnect rather than echo the bridge.
func resolvePath(path string, data json.RawMessage) (any, bool) {
	rest, ok := strings.CutPrefix(path, "$")
	var cur any
	if !ok || json.Unmarshal(data, &cur) != nil {
		return nil, false
	}
	rest = strings.ReplaceAll(rest, "[", ".")
	rest = strings.ReplaceAll(rest, "]", "")
	for _, step := range strings.Split(strings.TrimPrefix(rest, "."), ".") {
		if step == "" {
			continue
		}
		step = strings.Trim(step, `'"`)
		switch node := cur.(type) {
		case map[string]any:
			cur, ok = node[step]
		case []any:
			i, err := strconv.Atoi(step)
			ok = err == nil && i >= 0 && i < len(node)
			if ok {
				cur = node[i]
			}
		default:
			ok = false
		}
		if !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}
