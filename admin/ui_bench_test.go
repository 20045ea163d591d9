package admin

// BenchmarkUIPages measures the operators' pages and explain on one
// service of 20,000 instances, beside the health endpoint of the same
// service as the peer measured in the same run:
//
//	go test -run '^$' -bench UIPages -benchtime 20x ./admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/beacon-dns/beacon/internal/testkit/teststore"

	"github.com/beacon-dns/beacon/store"
)

func BenchmarkUIPages(b *testing.B) {
	st := teststore.Open(b, store.Options{Dir: b.TempDir(), NodeName: "node1", Advertise: "127.0.0.1", Logger: quietLogger()})
	teststore.Fill(b, st, 20000, []string{"web"})
	srv := httptest.NewServer(New(Config{Logger: quietLogger()}, st).Handler())
	b.Cleanup(srv.Close)
	for _, bc := range []struct{ name, path string }{
		{"peer_health_service", "/v1/health/service/web"},
		{"explain", "/v1/beacon/explain/web"},
		{"ui_service", "/ui/services/web"},
		{"ui_instance", "/ui/instances/fill-7"},
		{"ui_list", "/ui/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n int64
			for b.Loop() {
				resp, err := http.Get(srv.URL + bc.path)
				if err != nil {
					b.Fatal(err)
				}
				n, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %s", bc.path, resp.Status)
				}
			}
			b.ReportMetric(float64(n), "bytes/answer")
		})
	}
}
