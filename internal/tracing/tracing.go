// Package tracing owns the bridge's OpenTelemetry traces: whether they are
// on (the standard OTEL_* environment), a span per batch delivered to
// Konnect linked to the trace contexts of the producers of its events, and
// a span per dead letter. A nil *Tracer is off, and then every method
// returns at once, so the data path pays nothing for it. It never decides
// anything about delivery.
package tracing

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Name is the tracer's and, unless OTEL_SERVICE_NAME says otherwise, the
// service's name.
const Name = "konnect-bridge"

// Tracer makes the bridge's spans. A nil Tracer is off. Safe for
// concurrent use.
type Tracer struct {
	tracer trace.Tracer
}

// New traces through tp (tests pass one with an in-memory exporter).
func New(tp trace.TracerProvider) *Tracer {
	return &Tracer{tracer: tp.Tracer(Name)}
}

// FromEnv turns tracing on when the standard environment asks for it:
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set,
// OTEL_SDK_DISABLED not true and OTEL_TRACES_EXPORTER not none. The OTLP
// exporter speaks OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, http/protobuf by
// default or grpc, and reads the rest of its OTEL_EXPORTER_OTLP_*
// settings itself; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the
// service, and OTEL_TRACES_SAMPLER samples. Off, it returns a nil Tracer.
// shutdown sends the spans still buffered; call it once the bridge stopped.
func FromEnv(ctx context.Context, getenv func(string) string, version string, log zerolog.Logger) (t *Tracer, shutdown func(context.Context) error, err error) {
	shutdown = func(context.Context) error { return nil }
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" ||
		getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, shutdown, nil
	}
	protocol := first(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")
	var exp sdktrace.SpanExporter
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, shutdown, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: the bridge exports traces over http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, shutdown, fmt.Errorf("OpenTelemetry OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", Name), attribute.String("service.version", version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, shutdown, fmt.Errorf("OpenTelemetry resource (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME): %w", err)
	}
	// Export failures (a collector away) are the exporter's to report; they
	// never touch delivery.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn().Err(err).Msg("OpenTelemetry")
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	log.Info().Str("protocol", protocol).Msg("tracing: a span per batch and per dead letter, exported over OTLP")
	return New(tp), tp.Shutdown, nil
}

func first(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// links turns producers' traceparent values into span links, one per
// distinct trace context; values that are not valid W3C traceparents are
// left out.
func links(n int, traceparent func(int) string) []trace.Link {
	var (
		out  []trace.Link
		seen map[string]bool
		tc   propagation.TraceContext
	)
	for i := range n {
		tp := traceparent(i)
		if tp == "" || seen[tp] {
			continue
		}
		sc := trace.SpanContextFromContext(tc.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp}))
		if !sc.IsValid() {
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[tp] = true
		out = append(out, trace.Link{SpanContext: sc})
	}
	return out
}
