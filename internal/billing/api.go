package billing

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Meter is how Konnect aggregates the events of one type (the spec's Meter).
type Meter struct {
	ID            string            `json:"id"`
	Key           string            `json:"key"`
	Name          string            `json:"name"`
	Aggregation   string            `json:"aggregation"`
	EventType     string            `json:"event_type"`
	ValueProperty string            `json:"value_property,omitempty"`
	Dimensions    map[string]string `json:"dimensions,omitempty"`
}

// Customer is who is invoiced (the spec's BillingCustomer); usage is
// attributed to it by the events' subject.
type Customer struct {
	ID               string `json:"id"`
	Key              string `json:"key"`
	Name             string `json:"name"`
	UsageAttribution *struct {
		SubjectKeys []string `json:"subject_keys"`
	} `json:"usage_attribution,omitempty"`
}

// SubjectKeys are the event subjects billed to the customer.
func (c Customer) SubjectKeys() []string {
	if c.UsageAttribution == nil {
		return nil
	}
	return c.UsageAttribution.SubjectKeys
}

// StoredEvent is one event Konnect stored (the spec's
// MeteringIngestedEvent): the event, the customer it is attributed to (nil
// when none) and what processing found wrong with it.
type StoredEvent struct {
	Event struct {
		ID      string    `json:"id"`
		Source  string    `json:"source"`
		Type    string    `json:"type"`
		Subject string    `json:"subject"`
		Time    time.Time `json:"time"`
	} `json:"event"`
	Customer *struct {
		ID string `json:"id"`
	} `json:"customer,omitempty"`
	IngestedAt       time.Time `json:"ingested_at"`
	StoredAt         time.Time `json:"stored_at"`
	ValidationErrors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"validation_errors,omitempty"`
}

// EventFilter narrows the list of stored events; zero fields filter nothing.
type EventFilter struct {
	Subject  string
	From, To time.Time // event time, both inclusive
}

// pageSize is how many items each page of a list asks for.
const pageSize = 100

// Meters lists every meter.
func (c *Client) Meters(ctx context.Context) ([]Meter, error) {
	return listPages[Meter](ctx, c, "/openmeter/meters", nil, "meters")
}

// Customers lists every customer.
func (c *Client) Customers(ctx context.Context) ([]Customer, error) {
	return listPages[Customer](ctx, c, "/openmeter/customers", nil, "customers")
}

// CustomerByKey is the customer with that key, or else the one billed for
// that subject; nil when there is neither.
func (c *Client) CustomerByKey(ctx context.Context, key string) (*Customer, error) {
	// The exact operator, and the one attribution rule on what comes back:
	// a lookup never takes a customer whose key merely looks like it.
	for _, f := range []string{"filter[key][eq]", "filter[usage_attribution_subject_key][eq]"} {
		var page struct {
			Data []Customer `json:"data"`
		}
		if err := c.do(ctx, http.MethodGet, "/openmeter/customers", url.Values{f: {key}}, nil, &page, "customers"); err != nil {
			return nil, err
		}
		if cust := CustomerOf(page.Data, key); cust != nil {
			return cust, nil
		}
	}
	return nil, nil
}

// listPages reads every page of a page-paginated list, asking with query
// (filters, expands; nil for none) besides the page.
func listPages[T any](ctx context.Context, c *Client, path string, query url.Values, what string) ([]T, error) {
	var all []T
	for number := 1; ; number++ {
		var page struct {
			Data []T `json:"data"`
			Meta struct {
				Page struct {
					Total float64 `json:"total"`
				} `json:"page"`
			} `json:"meta"`
		}
		q := url.Values{"page[size]": {strconv.Itoa(pageSize)}, "page[number]": {strconv.Itoa(number)}}
		maps.Copy(q, query)
		if err := c.do(ctx, http.MethodGet, path, q, nil, &page, what); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if len(page.Data) == 0 || len(all) >= int(page.Meta.Page.Total) {
			return all, nil
		}
	}
}

// Events calls each with every page of the stored events that match f,
// following the cursor, until the last page or each's error. Only one page
// is held at a time.
func (c *Client) Events(ctx context.Context, f EventFilter, each func([]StoredEvent) error) error {
	q := url.Values{"page[size]": {strconv.Itoa(pageSize)}, "sort": {"time asc"}}
	if f.Subject != "" {
		q.Set("filter[subject][eq]", f.Subject)
	}
	if !f.From.IsZero() {
		q.Set("filter[time][gte]", f.From.UTC().Format(time.RFC3339Nano))
	}
	if !f.To.IsZero() {
		q.Set("filter[time][lte]", f.To.UTC().Format(time.RFC3339Nano))
	}
	for {
		var page struct {
			Data []StoredEvent `json:"data"`
			Meta struct {
				Page struct {
					Next *string `json:"next"`
				} `json:"page"`
			} `json:"meta"`
		}
		if err := c.do(ctx, http.MethodGet, eventsPath, q, nil, &page, "metering events"); err != nil {
			return err
		}
		if err := each(page.Data); err != nil {
			return err
		}
		after := cursorAfter(page.Meta.Page.Next)
		if len(page.Data) == 0 || after == "" || after == q.Get("page[after]") {
			return nil
		}
		q.Set("page[after]", after)
	}
}

// cursorAfter reads the cursor from a page's link to the next one, a path
// such as /openmeter/events?page[after]=X, or a bare cursor.
func cursorAfter(next *string) string {
	if next == nil || *next == "" {
		return ""
	}
	if u, err := url.Parse(*next); err == nil && u.RawQuery != "" {
		return u.Query().Get("page[after]")
	}
	return *next
}

// QueryRequest asks a meter for its usage (the spec's MeterQueryRequest).
type QueryRequest struct {
	From    *time.Time    `json:"from,omitempty"`
	To      *time.Time    `json:"to,omitempty"`
	GroupBy []string      `json:"group_by_dimensions,omitempty"`
	Filters *QueryFilters `json:"filters,omitempty"`
}

// QueryFilters filters a meter query by dimension (customer_id and subject
// included): each value is a QueryFilterStringMapItem ({"eq": "…"}).
type QueryFilters struct {
	Dimensions map[string]json.RawMessage `json:"dimensions"`
}

// QueryRow is one row of a meter's usage; Value is a decimal number.
type QueryRow struct {
	Value      json.Number       `json:"value"`
	From       time.Time         `json:"from"`
	To         time.Time         `json:"to"`
	Dimensions map[string]string `json:"dimensions"`
}

// Query asks a meter for its usage.
func (c *Client) Query(ctx context.Context, meterID string, req QueryRequest) ([]QueryRow, error) {
	var res struct {
		Data []QueryRow `json:"data"`
	}
	err := c.do(ctx, http.MethodPost, "/openmeter/meters/"+url.PathEscape(meterID)+"/query", nil, req, &res, "the usage of meter "+meterID)
	return res.Data, err
}
