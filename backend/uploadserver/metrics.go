package uploadserver

// Health and Prometheus metrics: GET /healthz and GET /metrics on the
// upload server's own address (upload URLs are only ever BITS_POST).

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ferry/backend/bits"
	"ferry/backend/uploadserver/objstore"
)

// Paths of the health check and the metrics.
const (
	HealthPath  = "/healthz"
	MetricsPath = "/metrics"
)

type metrics struct {
	reg       *prometheus.Registry
	received  prometheus.Counter
	stored    prometheus.Counter
	fragments prometheus.Counter
	fragTime  prometheus.Histogram
	errors    *prometheus.CounterVec
	storeTime *prometheus.HistogramVec
	written   prometheus.Counter
	handler   http.Handler
}

func newMetrics(open func() float64) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	openGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_upload_sessions_open",
		Help: "Upload sessions open (in fleet mode: in the store, for the whole fleet)."}, open)
	m.received = prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_upload_bytes_received_total",
		Help: "Bytes of fragment bodies read from clients (resent bytes included)."})
	m.stored = prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_upload_bytes_stored_total",
		Help: "New bytes of uploads stored and acknowledged."})
	m.fragments = prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_upload_fragments_total",
		Help: "Fragment packets answered."})
	m.fragTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ferry_upload_fragment_seconds",
		Help: "Time from a Fragment packet's headers to its Ack.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_upload_errors_total",
		Help: "Error Acks by BITS error name."}, []string{"kind"})
	m.storeTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_upload_store_seconds",
		Help: "Latency of object store operations (fleet mode).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)},
		[]string{"op"})
	m.written = prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_upload_store_bytes_written_total",
		Help: "Bytes sent to the object store (objects and parts; staged fragments count twice)."})
	for _, c := range []prometheus.Collector{openGauge, m.received, m.stored, m.fragments, m.fragTime, m.errors, m.storeTime, m.written} {
		f(c)
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// Registry is the server's metrics registry (to add a process collector,
// or to serve it elsewhere).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// ackRecorder notes the status and error code of the Ack written.
type ackRecorder struct {
	http.ResponseWriter
	status int
}

func (a *ackRecorder) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *ackRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// countedBody counts the bytes read of a fragment's body.
type countedBody struct {
	io.ReadCloser
	c prometheus.Counter
}

func (b countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.Add(float64(n))
	return n, err
}

// observe serves a BITS packet through next and counts it.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request)) {
	fragment := strings.EqualFold(strings.TrimSpace(r.Header.Get("BITS-Packet-Type")), "fragment")
	if fragment && r.Body != nil {
		r.Body = countedBody{r.Body, s.metrics.received}
	}
	start := time.Now()
	rec := &ackRecorder{ResponseWriter: w}
	next(rec, r)
	if fragment {
		s.metrics.fragments.Inc()
		s.metrics.fragTime.Observe(time.Since(start).Seconds())
	}
	if v := w.Header().Get("BITS-Error-Code"); v != "" {
		kind := "unknown"
		if n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(v), "0x"), 16, 32); err == nil {
			kind = bits.HRESULT(int32(uint32(n))).Name()
		}
		s.metrics.errors.WithLabelValues(kind).Inc()
	} else if rec.status == http.StatusRequestedRangeNotSatisfiable {
		s.metrics.errors.WithLabelValues("range_gap").Inc()
	}
}

// serveHealth answers 200 "ok" when the store answers, 503 otherwise.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var err error
	if s.fleet != nil {
		err = s.fleet.healthy(ctx)
	} else {
		_, err = s.root.Stat(".")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		s.log.Warn("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "store unavailable\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// timedStore records the latency of every store operation.
type timedStore struct {
	objstore.Store
	h       *prometheus.HistogramVec
	written prometheus.Counter
}

func (t timedStore) since(op string, start time.Time) {
	t.h.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (t timedStore) Get(ctx context.Context, key string) (io.ReadCloser, objstore.Object, error) {
	defer t.since("get", time.Now())
	return t.Store.Get(ctx, key)
}

func (t timedStore) Stat(ctx context.Context, key string) (objstore.Object, error) {
	defer t.since("stat", time.Now())
	return t.Store.Stat(ctx, key)
}

func (t timedStore) Put(ctx context.Context, key string, body io.Reader, size int64, tag string, cond objstore.Cond) (string, error) {
	op := "put"
	if cond != (objstore.Cond{}) {
		op = "put_conditional"
	}
	defer t.since(op, time.Now())
	etag, err := t.Store.Put(ctx, key, body, size, tag, cond)
	if err == nil {
		t.written.Add(float64(size))
	}
	return etag, err
}

func (t timedStore) Delete(ctx context.Context, key string) error {
	defer t.since("delete", time.Now())
	return t.Store.Delete(ctx, key)
}

func (t timedStore) List(ctx context.Context, prefix string) ([]objstore.Object, error) {
	defer t.since("list", time.Now())
	return t.Store.List(ctx, prefix)
}

func (t timedStore) CreateMultipart(ctx context.Context, key, tag string) (string, error) {
	defer t.since("create_multipart", time.Now())
	return t.Store.CreateMultipart(ctx, key, tag)
}

func (t timedStore) UploadPart(ctx context.Context, key, id string, n int32, body io.Reader, size int64) (string, error) {
	defer t.since("upload_part", time.Now())
	etag, err := t.Store.UploadPart(ctx, key, id, n, body, size)
	if err == nil {
		t.written.Add(float64(size))
	}
	return etag, err
}

func (t timedStore) CompleteMultipart(ctx context.Context, key, id string, parts []objstore.Part, ifNoneMatch bool) error {
	defer t.since("complete_multipart", time.Now())
	return t.Store.CompleteMultipart(ctx, key, id, parts, ifNoneMatch)
}

func (t timedStore) AbortMultipart(ctx context.Context, key, id string) error {
	defer t.since("abort_multipart", time.Now())
	return t.Store.AbortMultipart(ctx, key, id)
}

func (t timedStore) ListMultipart(ctx context.Context, prefix string) ([]objstore.Upload, error) {
	defer t.since("list_multipart", time.Now())
	return t.Store.ListMultipart(ctx, prefix)
}
