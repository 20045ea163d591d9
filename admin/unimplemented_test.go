package admin

import (
	"net/http"
	"strings"
	"testing"

	capi "github.com/hashicorp/consul/api"
)

// TestUnimplementedAreas: Consul's API areas beacon leaves out answer 501
// with one line that says so, whatever the method, token or dc, and
// paths that merely start alike stay 404.
func TestUnimplementedAreas(t *testing.T) {
	e := newEnv(t, Config{Token: secret})
	cases := []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/kv/foo", 501},
		{"PUT", "/v1/kv/foo?cas=0", 501},
		{"DELETE", "/v1/kv/foo?recurse", 501},
		{"GET", "/v1/kv", 501},
		{"PUT", "/v1/session/create", 501},
		{"GET", "/v1/acl/tokens", 501},
		{"PUT", "/v1/acl/bootstrap", 501},
		{"GET", "/v1/agent/token/default", 501},
		{"GET", "/v1/connect/ca/roots", 501},
		{"GET", "/v1/agent/connect/ca/leaf/web", 501},
		{"GET", "/v1/query", 501},
		{"POST", "/v1/query/abc/execute", 501},
		{"GET", "/v1/snapshot", 501},
		{"GET", "/v1/operator/raft/configuration", 501},
		{"PUT", "/v1/event/fire/deploy", 501},
		{"PUT", "/v1/txn", 501},
		{"GET", "/v1/config/service-defaults", 501},
		{"PUT", "/v1/agent/join/10.0.0.1", 501},
		{"GET", "/v1/kvx", 404},
		{"GET", "/v1/queryfoo", 404},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := e.with(t).must(c.want, c.method, c.path, "")
			errorLine(t, r)
			if c.want == http.StatusNotImplemented && !strings.HasPrefix(r.body, "beacon does not implement ") {
				t.Errorf("body %q", r.body)
			}
		})
	}
	if got := e.must(501, "GET", "/v1/kv/foo?dc=other", "", "X-Consul-Token", secret).body; !strings.Contains(got, "KV store") {
		t.Errorf("with a token and another dc: %q", got)
	}
}

// TestUnimplementedConsulClient: the Consul Go client's calls into those
// areas fail with beacon's sentence (and the 501, where the client shows
// the code), not with "not found".
func TestUnimplementedConsulClient(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	calls := map[string]func() error{
		"KV().Get":   func() error { _, _, err := c.KV().Get("foo", nil); return err },
		"KV().Put":   func() error { _, err := c.KV().Put(&capi.KVPair{Key: "foo", Value: []byte("x")}, nil); return err },
		"KV().List":  func() error { _, _, err := c.KV().List("", nil); return err },
		"Session()":  func() error { _, _, err := c.Session().Create(nil, nil); return err },
		"ACL()":      func() error { _, _, err := c.ACL().TokenList(nil); return err },
		"Connect()":  func() error { _, _, err := c.Connect().CARoots(nil); return err },
		"Query()":    func() error { _, _, err := c.PreparedQuery().List(nil); return err },
		"Snapshot()": func() error { _, _, err := c.Snapshot().Save(nil); return err },
		"Operator()": func() error { _, err := c.Operator().RaftGetConfiguration(nil); return err },
		"Event()":    func() error { _, _, err := c.Event().Fire(&capi.UserEvent{Name: "deploy"}, nil); return err },
		"Txn()": func() error {
			_, _, _, err := c.Txn().Txn(capi.TxnOps{{KV: &capi.KVTxnOp{Verb: capi.KVGet, Key: "foo"}}}, nil)
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "beacon does not implement") || (name != "Txn()" && !strings.Contains(err.Error(), "501")) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
