package testkit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// SpecPath is where the published Konnect OpenAPI is: KONNECT_OPENAPI when
// set, else ../shared/konnect/openmeter-v3-openapi.yaml from the
// repository's root, where CI puts it. The project never copies it.
func SpecPath() string {
	if p := os.Getenv("KONNECT_OPENAPI"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Join(root, "..", "shared", "konnect", "openmeter-v3-openapi.yaml")
}

var spec struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

// Spec loads the published OpenAPI once; the test is skipped when the file
// is truly absent.
func Spec(t testing.TB) *openapi3.T {
	t.Helper()
	path := SpecPath()
	if _, err := os.Stat(path); os.IsNotExist(err) {
		t.Skipf("the published Konnect OpenAPI is not at %s (set KONNECT_OPENAPI to its path)", path)
	}
	spec.once.Do(func() {
		loader := openapi3.NewLoader()
		spec.doc, spec.err = loader.LoadFromFile(path)
	})
	if spec.err != nil {
		t.Fatalf("load %s: %v", path, spec.err)
	}
	return spec.doc
}

// SpecChecked serves h behind a check of every request and answer against
// the published OpenAPI: a request or an answer the spec does not allow
// fails the test. Paths are matched after the base URL's /v3 or /api/v3.
func SpecChecked(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	doc := Spec(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params := findRoute(doc, r)
		if route == nil {
			t.Errorf("%s %s is not an operation of the published spec", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: the request breaks the spec: %v", r.Method, r.URL, err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Options: opts}
		out.SetBodyBytes(rec.Body.Bytes())
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: the answer %d breaks the spec: %v\n%s", r.Method, r.URL, rec.Code, err, rec.Body.Bytes())
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// findRoute finds the operation of the spec a request is for.
func findRoute(doc *openapi3.T, r *http.Request) (*routers.Route, map[string]string) {
	path := r.URL.Path
	for _, prefix := range []string{"/api/v3", "/v3"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			path = rest
			break
		}
	}
	got := strings.Split(path, "/")
	for tmpl, item := range doc.Paths.Map() {
		want := strings.Split(tmpl, "/")
		if len(want) != len(got) {
			continue
		}
		params := map[string]string{}
		for i := range want {
			if strings.HasPrefix(want[i], "{") {
				params[strings.Trim(want[i], "{}")] = got[i]
			} else if want[i] != got[i] {
				params = nil
				break
			}
		}
		if params == nil {
			continue
		}
		if op := item.GetOperation(r.Method); op != nil {
			return &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: r.Method, Operation: op}, params
		}
	}
	return nil, nil
}
