package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// meterJSON is the spec's Meter.
type meterJSON struct {
	ID            string            `json:"id"`
	Key           string            `json:"key"`
	Name          string            `json:"name"`
	Aggregation   string            `json:"aggregation"`
	EventType     string            `json:"event_type"`
	ValueProperty string            `json:"value_property,omitempty"`
	Dimensions    map[string]string `json:"dimensions,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// customerJSON is the spec's BillingCustomer.
type customerJSON struct {
	ID               string    `json:"id"`
	Key              string    `json:"key"`
	Name             string    `json:"name"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	UsageAttribution struct {
		SubjectKeys []string `json:"subject_keys"`
	} `json:"usage_attribution"`
}

// pageMeta is the spec's PaginatedMeta.
type pageMeta struct {
	Page struct {
		Number int `json:"number"`
		Size   int `json:"size"`
		Total  int `json:"total"`
	} `json:"page"`
}

// listMeters answers list-meters, filtered by key or name, in pages.
func (s *Sandbox) listMeters(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	var all []meterJSON
	for _, m := range b.meters {
		all = append(all, meterJSON{ID: m.id, Key: m.Key, Name: m.Name, Aggregation: m.Aggregation, EventType: m.EventType,
			ValueProperty: m.ValueProperty, Dimensions: m.Dimensions, CreatedAt: b.created, UpdatedAt: b.created})
	}
	return pageOf(s, w, r.URL.Query(), all, map[string]func(meterJSON) string{
		"key": func(m meterJSON) string { return m.Key }, "name": func(m meterJSON) string { return m.Name },
	})
}

// listCustomers answers list-customers, filtered by key, name or usage
// attribution subject key, in pages.
func (s *Sandbox) listCustomers(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	var all []customerJSON
	for _, c := range b.customers {
		cj := customerJSON{ID: c.id, Key: c.Key, Name: c.Name, CreatedAt: b.created, UpdatedAt: b.created}
		cj.UsageAttribution.SubjectKeys = append([]string{}, c.SubjectKeys...)
		all = append(all, cj)
	}
	return pageOf(s, w, r.URL.Query(), all, map[string]func(customerJSON) string{
		"key": func(c customerJSON) string { return c.Key }, "name": func(c customerJSON) string { return c.Name },
		"usage_attribution_subject_key": nil, // matched on any of the keys below
	})
}

// pageOf filters items by fields and answers one page of them.
func pageOf[T any](s *Sandbox, w http.ResponseWriter, q url.Values, items []T, fields map[string]func(T) string) *problem {
	allowed := map[string]bool{}
	for f := range fields {
		allowed[f] = true
	}
	page, conds, p := s.parseQuery(q, allowed, "size", "number")
	if p != nil {
		return p
	}
	size, p := s.pageSize(page)
	if p != nil {
		return p
	}
	number := 1
	if v, ok := page["number"]; ok {
		if number, _ = strconv.Atoi(v); number < 1 {
			return s.badQuery("page[number]", "must be a whole number from 1")
		}
	}
	var kept []T
	for _, it := range items {
		if matchAll(conds, fields, it) {
			kept = append(kept, it)
		}
	}
	start, end := min((number-1)*size, len(kept)), min(number*size, len(kept))
	body := struct {
		Data []T      `json:"data"`
		Meta pageMeta `json:"meta"`
	}{Data: append([]T{}, kept[start:end]...)}
	body.Meta.Page.Number, body.Meta.Page.Size, body.Meta.Page.Total = number, size, len(kept)
	return writeOK(w, body)
}

func matchAll[T any](conds []condition, fields map[string]func(T) string, it T) bool {
	for _, c := range conds {
		if get := fields[c.field]; get != nil {
			if !matchString(c, get(it)) {
				return false
			}
			continue
		}
		// usage_attribution_subject_key: any of the customer's keys.
		cj, ok := any(it).(customerJSON)
		if !ok {
			return false
		}
		found := false
		for _, k := range cj.UsageAttribution.SubjectKeys {
			found = found || matchString(c, k)
		}
		if !found {
			return false
		}
	}
	return true
}

// value is what m aggregates of data: 1 for count, else the number (or,
// for unique_count, the string) its value_property resolves to.
func (m meter) value(data json.RawMessage) (any, bool) {
	if m.Aggregation == "count" {
		return 1.0, true
	}
	v, ok := resolvePath(m.ValueProperty, data)
	if !ok {
		return nil, false
	}
	switch x := v.(type) {
	case string:
		if m.Aggregation == "unique_count" {
			return x, true
		}
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	case float64:
		return x, m.Aggregation != "unique_count"
	}
	return nil, false
}
