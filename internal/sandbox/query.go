package sandbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// meterQuery is the spec's MeterQueryRequest, as far as the sandbox
// answers it: no granularity (the whole period is one row per group).
type meterQuery struct {
	From        *time.Time    `json:"from"`
	To          *time.Time    `json:"to"`
	Granularity string        `json:"granularity"`
	TimeZone    string        `json:"time_zone"`
	GroupBy     []string      `json:"group_by_dimensions"`
	Filters     *queryFilters `json:"filters"`
}

// queryFilters are a meter query's filters by dimension.
type queryFilters struct {
	Dimensions map[string]dimensionFilter `json:"dimensions"`
}

type dimensionFilter struct {
	Eq *string  `json:"eq"`
	In []string `json:"in"`
}

// queryRow is the spec's MeterQueryRow.
type queryRow struct {
	Value      string            `json:"value"`
	From       time.Time         `json:"from"`
	To         time.Time         `json:"to"`
	Dimensions map[string]string `json:"dimensions"`
}

// queryMeter answers query-meter: the meter's aggregate over the stored
// events of its type in [from, to), one row per group of
// group_by_dimensions (subject and customer_id included).
func (s *Sandbox) queryMeter(w http.ResponseWriter, r *http.Request) *problem {
	b, events := s.snapshot()
	i := slices.IndexFunc(b.meters, func(m meter) bool { return m.id == r.PathValue("meterId") })
	if i < 0 {
		return s.newProblem(http.StatusNotFound, "meter "+r.PathValue("meterId")+" not found", nil)
	}
	m := b.meters[i]
	var q meterQuery
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return s.newProblem(http.StatusBadRequest, "the body is not a meter query: "+err.Error(), nil)
	}
	if q.Granularity != "" {
		return s.newProblem(http.StatusBadRequest, "the sandbox answers queries without granularity only", nil)
	}
	for _, d := range q.GroupBy {
		if _, ok := m.Dimensions[d]; !ok && d != "subject" && d != "customer_id" {
			return s.newProblem(http.StatusBadRequest, fmt.Sprintf("group_by_dimensions: meter %s has no dimension %s", m.Key, d), nil)
		}
	}
	from, to := b.created, time.Now().UTC()
	if q.From != nil {
		from = *q.From
	}
	if q.To != nil {
		to = *q.To
	}
	res := struct {
		From time.Time  `json:"from"`
		To   time.Time  `json:"to"`
		Data []queryRow `json:"data"`
	}{From: from, To: to, Data: q.rows(b, m, events, from, to)}
	return writeOK(w, res)
}

// rows aggregates m over the events of its type in [from, to) that the
// query keeps, one row per group, in the order of their dimensions.
func (q meterQuery) rows(b billing, m meter, events []Event, from, to time.Time) []queryRow {
	groups := map[string]*group{}
	for _, e := range events {
		se := b.describe(e)
		if e.Type != m.EventType || se.time.Before(from) || !se.time.Before(to) {
			continue
		}
		dims := m.dimensionsOf(se)
		v, ok := m.value(e.Data)
		if !ok || !q.keeps(dims) {
			continue
		}
		kept := map[string]string{}
		for _, d := range q.GroupBy {
			kept[d] = dims[d]
		}
		key := fmt.Sprint(kept)
		if groups[key] == nil {
			groups[key] = &group{dims: kept, unique: map[string]bool{}}
		}
		groups[key].add(m.Aggregation, v, se.time)
	}
	rows := []queryRow{}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		g := groups[k]
		rows = append(rows, queryRow{Value: g.result(m.Aggregation), From: from, To: to, Dimensions: g.dims})
	}
	return rows
}

// dimensionsOf is every dimension of an event: the meter's, its subject
// and its customer's id.
func (m meter) dimensionsOf(se storedEvent) map[string]string {
	dims := map[string]string{"subject": se.e.Subject}
	if se.Customer != nil {
		dims["customer_id"] = se.Customer.ID
	}
	for name, path := range m.Dimensions {
		if v, ok := resolvePath(path, se.e.Data); ok {
			if s, isString := v.(string); isString {
				dims[name] = s
			} else {
				raw, _ := json.Marshal(v)
				dims[name] = string(raw)
			}
		}
	}
	return dims
}

// keeps applies the query's dimension filters.
func (q meterQuery) keeps(dims map[string]string) bool {
	if q.Filters == nil {
		return true
	}
	for name, f := range q.Filters.Dimensions {
		v, ok := dims[name]
		if f.Eq != nil && (!ok || v != *f.Eq) {
			return false
		}
		if f.In != nil && (!ok || !slices.Contains(f.In, v)) {
			return false
		}
	}
	return true
}

// group aggregates the values of one row.
type group struct {
	dims   map[string]string
	n      int
	sum    float64
	min    float64
	max    float64
	latest float64
	at     time.Time
	unique map[string]bool
}

func (g *group) add(aggregation string, v any, at time.Time) {
	if aggregation == "unique_count" {
		g.unique[v.(string)] = true
		return
	}
	f := v.(float64)
	if g.n == 0 || f < g.min {
		g.min = f
	}
	if g.n == 0 || f > g.max {
		g.max = f
	}
	if !at.Before(g.at) {
		g.latest, g.at = f, at
	}
	g.n++
	g.sum += f
}

func (g *group) result(aggregation string) string {
	v := g.sum
	switch aggregation {
	case "count":
		v = float64(g.n)
	case "avg":
		v = g.sum / float64(max(g.n, 1))
	case "min":
		v = g.min
	case "max":
		v = g.max
	case "latest":
		v = g.latest
	case "unique_count":
		v = float64(len(g.unique))
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', -1, 64), ".0")
}
