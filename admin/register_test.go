package admin

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// TestRegisterDecoding registers bodies in the spellings real clients use
// and checks what the store holds.
func TestRegisterDecoding(t *testing.T) {
	e := newEnv(t, Config{})
	type want struct {
		id, name, addr string
		port           int
		tags           []string
		meta           map[string]string
		weights        store.Weights
		checks         map[string]store.Check // by ID; only the fields set are compared
	}
	cases := []struct {
		name string
		body string
		want want
	}{
		{"PascalCase", `{"ID":"a1","Name":"Api","Address":"10.1.0.1","Port":80,"Tags":["x"],"Meta":{"k":"v"},"Weights":{"Passing":3,"Warning":1}}`,
			want{id: "a1", name: "api", addr: "10.1.0.1", port: 80, tags: []string{"x"}, meta: map[string]string{"k": "v"}, weights: store.Weights{Passing: 3, Warning: 1}}},
		{"lower case and snake_case", `{"id":"a2","name":"api","address":"::1","port":81,"tags":["y"],"meta":{"k":"v"},"weights":{"passing":2,"warning":0},
			"check":{"check_id":"c2","http":"http://127.0.0.1:81/h","interval":"10s","timeout":"2s","tls_skip_verify":true,"deregister_critical_service_after":"1m","success_before_passing":2,"failures_before_critical":3}}`,
			want{id: "a2", name: "api", addr: "::1", port: 81, tags: []string{"y"}, meta: map[string]string{"k": "v"}, weights: store.Weights{Passing: 2, Warning: 0},
				checks: map[string]store.Check{"c2": {Kind: store.KindHTTP, HTTP: "http://127.0.0.1:81/h", Interval: 10 * time.Second, Timeout: 2 * time.Second,
					TLSSkipVerify: true, DeregisterCriticalServiceAfter: time.Minute, SuccessBeforePassing: 2, FailuresBeforeCritical: 3}}}},
		{"Check and Checks merge with Consul IDs", `{"ID":"a3","Name":"api","Port":82,"Check":{"TTL":"15s"},"Checks":[{"TCP":"127.0.0.1:82","Interval":"5s"},{"Name":"h","HTTP":"https://127.0.0.1:82/","Interval":"1m","Method":"HEAD","Header":{"X-A":["1","2"]}}]}`,
			want{id: "a3", name: "api", addr: "127.0.0.1", port: 82, weights: store.Weights{Passing: 1, Warning: 1},
				checks: map[string]store.Check{
					"service:a3:1": {Kind: store.KindTTL, TTL: 15 * time.Second, Name: "Service 'api' check", Status: store.Critical},
					"service:a3:2": {Kind: store.KindTCP, TCP: "127.0.0.1:82", Interval: 5 * time.Second},
					"service:a3:3": {Kind: store.KindHTTP, Name: "h", Method: "HEAD", Interval: time.Minute},
				}}},
		{"one check gets service:ID", `{"ID":"a4","Name":"api","Check":{"TTL":"30s","Status":"passing","Notes":"n"}}`,
			want{id: "a4", name: "api", addr: "127.0.0.1", weights: store.Weights{Passing: 1, Warning: 1},
				checks: map[string]store.Check{"service:a4": {Kind: store.KindTTL, Status: store.Passing, Notes: "n"}}}},
		{"durations as nanoseconds", `{"ID":"a5","Name":"api","Check":{"TTL":30000000000}}`,
			want{id: "a5", name: "api", addr: "127.0.0.1", weights: store.Weights{Passing: 1, Warning: 1},
				checks: map[string]store.Check{"service:a5": {Kind: store.KindTTL, TTL: 30 * time.Second}}}},
		{"ID defaults to the name", `{"Name":"Solo","Port":1}`,
			want{id: "solo", name: "solo", addr: "127.0.0.1", port: 1, weights: store.Weights{Passing: 1, Warning: 1}}},
		// Consul's ServiceDefinition.CheckTypes skips a Check that is empty.
		{"empty Check is no check", `{"ID":"a6","Name":"api","Check":{}}`,
			want{id: "a6", name: "api", addr: "127.0.0.1", weights: store.Weights{Passing: 1, Warning: 1}}},
		{"Check of zero values is no check", `{"ID":"a7","Name":"api","Check":{"CheckID":"","Status":"","TLSSkipVerify":false,"Interval":"","Unknown":1}}`,
			want{id: "a7", name: "api", addr: "127.0.0.1", weights: store.Weights{Passing: 1, Warning: 1}}},
		// Weights decode as Consul's structs.Weights: a field left out is 0.
		{"Weights without Warning", `{"ID":"a8","Name":"api","Weights":{"Passing":3}}`,
			want{id: "a8", name: "api", addr: "127.0.0.1", weights: store.Weights{Passing: 3, Warning: 0}}},
		{"Go client nulls and defaults", `{"Name":"gc","ID":"gc1","Check":null,"Checks":null,"Tags":null,"Meta":null,"Weights":null,"EnableTagOverride":false,"Kind":"","TaggedAddresses":{"lan":{"Address":"1.2.3.4","Port":1}}}`,
			want{id: "gc1", name: "gc", addr: "127.0.0.1", weights: store.Weights{Passing: 1, Warning: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.with(t).register(c.body)
			in := e.st.Snapshot().Instance(c.want.id)
			if in == nil {
				t.Fatalf("instance %q not registered", c.want.id)
			}
			w := c.want
			if in.Name != w.name || in.Address != w.addr || in.Port != w.port || in.Weights != w.weights {
				t.Errorf("got name %q addr %q port %d weights %+v; want %q %q %d %+v", in.Name, in.Address, in.Port, in.Weights, w.name, w.addr, w.port, w.weights)
			}
			if len(in.Tags)+len(w.tags) > 0 && !reflect.DeepEqual(in.Tags, w.tags) {
				t.Errorf("tags = %v, want %v", in.Tags, w.tags)
			}
			if len(in.Meta)+len(w.meta) > 0 && !reflect.DeepEqual(in.Meta, w.meta) {
				t.Errorf("meta = %v, want %v", in.Meta, w.meta)
			}
			if len(in.Checks) != len(w.checks) {
				t.Fatalf("got %d checks, want %d", len(in.Checks), len(w.checks))
			}
			for _, got := range in.Checks {
				exp, ok := w.checks[got.ID]
				if !ok {
					t.Fatalf("unexpected check %q", got.ID)
				}
				sameCheck(t, got, exp)
			}
		})
	}
}

// sameCheck compares the fields exp sets.
func sameCheck(t *testing.T, got *store.Check, exp store.Check) {
	t.Helper()
	gv, ev := reflect.ValueOf(*got), reflect.ValueOf(exp)
	for i := 0; i < ev.NumField(); i++ {
		f := ev.Type().Field(i)
		if !f.IsExported() || ev.Field(i).IsZero() {
			continue
		}
		if !reflect.DeepEqual(gv.Field(i).Interface(), ev.Field(i).Interface()) {
			t.Errorf("check %s: %s = %v, want %v", got.ID, f.Name, gv.Field(i).Interface(), ev.Field(i).Interface())
		}
	}
}

// TestRegisterMalformed feeds bad registrations: each is answered 4xx with
// a message naming the field, and the catalog is unchanged after each.
func TestRegisterMalformed(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	cases := []struct {
		name, body string
		code       int
		field      string
	}{
		{"empty body", ``, 400, "body"},
		{"bad JSON", `{"Name":"web",}`, 400, "JSON"},
		{"trailing data", `{"Name":"web"} {}`, 400, "body"},
		{"not an object", `["web"]`, 400, "body"},
		{"null body", `null`, 400, "body"},
		{"name missing", `{"Port":80}`, 400, "Name"},
		{"name wrong type", `{"Name":42}`, 400, "Name"},
		{"name with underscore", `{"Name":"my_web"}`, 400, "Name"},
		{"name too long", `{"Name":"` + strings.Repeat("a", 64) + `"}`, 400, "Name"},
		{"name starts with hyphen", `{"Name":"-web"}`, 400, "Name"},
		{"ID with slash", `{"Name":"web","ID":"a/b"}`, 400, "ID"},
		{"ID too long", `{"Name":"web","ID":"` + strings.Repeat("i", 129) + `"}`, 400, "ID"},
		{"port wrong type", `{"Name":"web","Port":"80"}`, 400, "Port"},
		{"port negative", `{"Name":"web","Port":-1}`, 400, "Port"},
		{"port too big", `{"Name":"web","Port":65536}`, 400, "Port"},
		{"port fractional", `{"Name":"web","Port":80.5}`, 400, "Port"},
		{"port huge", `{"Name":"web","Port":1e30}`, 400, "Port"},
		{"address bad IPv4", `{"Name":"web","Address":"300.1.1.1"}`, 400, "Address"},
		{"address unspecified IPv4", `{"Name":"web","Address":"0.0.0.0"}`, 400, "Address"},
		{"address unspecified IPv6", `{"Name":"web","Address":"::"}`, 400, "Address"},
		{"address bad hostname", `{"Name":"web","Address":"bad host"}`, 400, "Address"},
		{"address wrong type", `{"Name":"web","Address":["10.0.0.1"]}`, 400, "Address"},
		{"tags wrong type", `{"Name":"web","Tags":"v1"}`, 400, "Tags"},
		{"tag wrong type", `{"Name":"web","Tags":["v1",2]}`, 400, "Tags[1]"},
		{"empty tag", `{"Name":"web","Tags":[""]}`, 400, "Tags[0]"},
		{"too many tags", `{"Name":"web","Tags":[` + many(65, func(i int) string { return fmt.Sprintf(`"t%d"`, i) }) + `]}`, 400, "Tags"},
		{"tag too long", `{"Name":"web","Tags":["` + strings.Repeat("t", 256) + `"]}`, 400, "Tags[0]"},
		{"meta wrong type", `{"Name":"web","Meta":["a"]}`, 400, "Meta"},
		{"meta value wrong type", `{"Name":"web","Meta":{"a":1}}`, 400, "Meta"},
		{"too many meta keys", `{"Name":"web","Meta":{` + many(65, func(i int) string { return fmt.Sprintf(`"k%d":"v"`, i) }) + `}}`, 400, "Meta"},
		{"meta key too long", `{"Name":"web","Meta":{"` + strings.Repeat("k", 129) + `":"v"}}`, 400, "Meta"},
		{"meta value too long", `{"Name":"web","Meta":{"k":"` + strings.Repeat("v", 513) + `"}}`, 400, "Meta"},
		{"negative weight", `{"Name":"web","Weights":{"Passing":-1,"Warning":1}}`, 400, "Weights.Passing"},
		{"negative warning weight", `{"Name":"web","Weights":{"Passing":1,"Warning":-3}}`, 400, "Weights.Warning"},
		{"weights empty", `{"Name":"web","Weights":{}}`, 400, "Weights.Passing"},
		{"weights without Passing", `{"Name":"web","Weights":{"Warning":2}}`, 400, "Weights.Passing"},
		{"empty check in Checks", `{"Name":"web","Checks":[{}]}`, 400, "Checks[0]"},
		{"check with only an empty Header", `{"Name":"web","Check":{"Header":{}}}`, 400, "Check"},
		{"weights wrong type", `{"Name":"web","Weights":[1,1]}`, 400, "Weights"},
		{"check wrong type", `{"Name":"web","Check":"ttl"}`, 400, "Check"},
		{"checks wrong type", `{"Name":"web","Checks":{"TTL":"10s"}}`, 400, "Checks"},
		{"check without a kind", `{"Name":"web","Check":{"Interval":"10s"}}`, 400, "Check.HTTP"},
		{"check with two kinds", `{"Name":"web","Checks":[{"TTL":"10s"},{"HTTP":"http://x/","TCP":"x:1","Interval":"1s"}]}`, 400, "Checks[1]"},
		{"script check", `{"Name":"web","Check":{"Args":["/bin/true"],"Interval":"10s"}}`, 400, "Check.Args"},
		{"script check snake", `{"Name":"web","Check":{"script_args":["/bin/true"],"Interval":"10s"}}`, 400, "ScriptArgs"},
		{"docker check", `{"Name":"web","Check":{"DockerContainerID":"abc","Shell":"/bin/sh","Interval":"10s"}}`, 400, "DockerContainerID"},
		{"grpc check", `{"Name":"web","Checks":[{"GRPC":"127.0.0.1:9000","Interval":"10s"}]}`, 400, "Checks[0].GRPC"},
		{"h2ping check", `{"Name":"web","Check":{"H2PING":"127.0.0.1:9000","Interval":"10s"}}`, 400, "H2PING"},
		{"udp check", `{"Name":"web","Check":{"UDP":"127.0.0.1:53","Interval":"10s"}}`, 400, "UDP"},
		{"os service check", `{"Name":"web","Check":{"OSService":"sshd","Interval":"10s"}}`, 400, "OSService"},
		{"alias check", `{"Name":"web","Check":{"AliasService":"db"}}`, 400, "AliasService"},
		{"alias node check", `{"Name":"web","Check":{"AliasNode":"n1"}}`, 400, "AliasNode"},
		{"connect sidecar", `{"Name":"web","Connect":{"SidecarService":{}}}`, 400, "Connect"},
		{"proxy kind", `{"Name":"web","Kind":"connect-proxy"}`, 400, "Kind"},
		{"namespace", `{"Name":"web","Namespace":"team-a"}`, 400, "Namespace"},
		{"interval bad", `{"Name":"web","Check":{"HTTP":"http://127.0.0.1/","Interval":"often"}}`, 400, "Check.Interval"},
		{"interval missing unit number", `{"Name":"web","Check":{"HTTP":"http://127.0.0.1/","Interval":10}}`, 400, "Check.Interval"},
		{"interval wrong type", `{"Name":"web","Check":{"HTTP":"http://127.0.0.1/","Interval":true}}`, 400, "Check.Interval"},
		{"interval missing", `{"Name":"web","Check":{"TCP":"127.0.0.1:1"}}`, 400, "Interval"},
		{"ttl negative", `{"Name":"web","Check":{"TTL":"-5s"}}`, 400, "TTL"},
		{"deregister too short", `{"Name":"web","Check":{"TTL":"5s","DeregisterCriticalServiceAfter":"10ms"}}`, 400, "DeregisterCriticalServiceAfter"},
		{"http not a URL", `{"Name":"web","Check":{"HTTP":"ftp://x/","Interval":"1s"}}`, 400, "Check.HTTP"},
		{"tcp without port", `{"Name":"web","Check":{"TCP":"127.0.0.1","Interval":"1s"}}`, 400, "Check.TCP"},
		{"bad status", `{"Name":"web","Check":{"TTL":"5s","Status":"ok"}}`, 400, "Check.Status"},
		{"header wrong type", `{"Name":"web","Check":{"HTTP":"http://x/","Interval":"1s","Header":{"A":"b"}}}`, 400, "Header"},
		{"tls skip verify wrong type", `{"Name":"web","Check":{"HTTP":"http://x/","Interval":"1s","TLSSkipVerify":"yes"}}`, 400, "TLSSkipVerify"},
		{"too many checks", `{"Name":"web","Checks":[` + many(33, func(int) string { return `{"TTL":"5s"}` }) + `]}`, 400, "Checks"},
		{"duplicate check IDs", `{"Name":"web","Checks":[{"CheckID":"c","TTL":"5s"},{"CheckID":"c","TTL":"6s"}]}`, 400, "CheckID"},
		{"check ID taken by another instance", `{"Name":"other","Check":{"CheckID":"service:web2","TTL":"5s"}}`, 400, "CheckID"},
		{"ID and CheckID disagree", `{"Name":"web","Check":{"ID":"a","CheckID":"b","TTL":"5s"}}`, 400, "CheckID"},
		{"field given twice", `{"Name":"web","name":"web"}`, 400, "given twice"},
		{"replace flag bad", `{"Name":"web"}`, 400, "replace-existing-checks"},
		{"body over 1 MiB", `{"Name":"web","Meta":{"k":"` + strings.Repeat("v", maxBody) + `"}}`, 413, "body"},
		{"body over 1 MiB of spaces", `{"Name":"web"}` + strings.Repeat(" ", maxBody), 413, "1 MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := "/v1/agent/service/register"
			if c.name == "replace flag bad" {
				path += "?replace-existing-checks=perhaps"
			}
			before := e.st.Snapshot()
			r := e.with(t).must(c.code, "PUT", path, c.body)
			errorLine(t, r)
			if !strings.Contains(r.body, c.field) {
				t.Errorf("message %q does not name %q", r.body, c.field)
			}
			sameCatalog(t, before, e.st.Snapshot())
		})
	}
}

// sameCatalog fails when two snapshots differ in anything visible.
func sameCatalog(t *testing.T, a, b *store.Snapshot) {
	t.Helper()
	if a.Index() != b.Index() || !reflect.DeepEqual(a.Instances(), b.Instances()) {
		t.Errorf("catalog changed: index %d → %d", a.Index(), b.Index())
	}
}

// TestReplaceExistingChecks shows ?replace-existing-checks dropping checks
// a re-registration leaves out, and their keeping without it.
func TestReplaceExistingChecks(t *testing.T) {
	e := newEnv(t, Config{})
	e.register(`{"ID":"r1","Name":"r","Checks":[{"CheckID":"a","TTL":"5s"},{"CheckID":"b","TTL":"5s"}]}`)
	e.register(`{"ID":"r1","Name":"r","Checks":[{"CheckID":"a","TTL":"5s"}]}`)
	if n := len(e.st.Snapshot().Instance("r1").Checks); n != 2 {
		t.Fatalf("without the flag %d checks remain, want 2", n)
	}
	e.must(http.StatusOK, "PUT", "/v1/agent/service/register?replace-existing-checks=true", `{"ID":"r1","Name":"r","Checks":[{"CheckID":"a","TTL":"5s"}]}`)
	if n := len(e.st.Snapshot().Instance("r1").Checks); n != 1 {
		t.Fatalf("with the flag %d checks remain, want 1", n)
	}
}

// TestUnknownFieldsWarn shows unknown fields ignored, as Consul does, but
// named in a Warning header.
func TestUnknownFieldsWarn(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.must(http.StatusOK, "PUT", "/v1/agent/service/register", `{"Name":"w","Adress":"10.0.0.1","Check":{"TTL":"5s","Intervall":"1s"}}`)
	w := r.header.Get("Warning")
	if !strings.Contains(w, "Adress") || !strings.Contains(w, "Check.Intervall") {
		t.Errorf("Warning = %q, want it to name Adress and Check.Intervall", w)
	}
}

// TestSingleCheckFieldNames shows errors in "Check" named as sent, not
// as the merged list's Checks[0].
func TestSingleCheckFieldNames(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.must(http.StatusBadRequest, "PUT", "/v1/agent/service/register", `{"Name":"w","Check":{"TTL":"5s"},"Checks":[{"TTL":"5s","Status":"bogus"}]}`)
	if !strings.Contains(r.body, "Checks[0].Status") {
		t.Errorf("message %q should name Checks[0].Status", r.body)
	}
	r = e.must(http.StatusBadRequest, "PUT", "/v1/agent/service/register", `{"Name":"w","Check":{"TCP":"nohost","Interval":"1s"}}`)
	if !strings.HasPrefix(r.body, "Check.TCP") {
		t.Errorf("message %q should start with Check.TCP", r.body)
	}
}

// TestCheckLimitsAndMalformed feeds bad bodies and over-limit requests to
// the check endpoints, and registrations that would leave an instance with
// more than 32 checks: each is a 4xx naming the field, and the catalog is
// unchanged after each.
func TestCheckLimitsAndMalformed(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	ttls := func(prefix string, n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`{"CheckID":"%s%d","TTL":"10s"}`, prefix, i)
		}
		return strings.Join(parts, ",")
	}
	e.register(`{"ID":"full","Name":"full","Checks":[` + ttls("a", 32) + `]}`)
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name, path, body string
		code             int
		field            string
	}{
		{"register: check ID too long", "/v1/agent/service/register", `{"Name":"web","Check":{"CheckID":"` + long(129) + `","TTL":"5s"}}`, 400, "Check.CheckID"},
		{"register: check name too long", "/v1/agent/service/register", `{"Name":"web","Check":{"Name":"` + long(1025) + `","TTL":"5s"}}`, 400, "Check.Name"},
		{"register: 32 new checks on top of 32 kept", "/v1/agent/service/register", `{"ID":"full","Name":"full","Checks":[` + ttls("b", 32) + `]}`, 400, "Checks"},
		{"register: one new check on top of 32 kept", "/v1/agent/service/register", `{"ID":"full","Name":"full","Check":{"CheckID":"b0","TTL":"10s"}}`, 400, "Checks"},
		{"check/register: 33rd check", "/v1/agent/check/register", `{"ID":"b0","Name":"c","ServiceID":"full","TTL":"10s"}`, 400, "CheckID"},
		{"check/register: bad JSON", "/v1/agent/check/register", `{"ID":`, 400, "JSON"},
		{"check/register: not an object", "/v1/agent/check/register", `[]`, 400, "body"},
		{"check/register: ID too long", "/v1/agent/check/register", `{"ID":"` + long(129) + `","Name":"c","ServiceID":"web1","TTL":"10s"}`, 400, "CheckID"},
		{"check/register: notes too long", "/v1/agent/check/register", `{"Name":"c","Notes":"` + long(1025) + `","ServiceID":"web1","TTL":"10s"}`, 400, "Notes"},
		{"check/register: no service", "/v1/agent/check/register", `{"Name":"c","TTL":"10s"}`, 400, "ServiceID"},
		{"check/register: unknown service", "/v1/agent/check/register", `{"Name":"c","ServiceID":"nope","TTL":"10s"}`, 404, "nope"},
		{"check/register: no kind", "/v1/agent/check/register", `{"Name":"c","ServiceID":"web1"}`, 400, "HTTP"},
		{"check/register: script", "/v1/agent/check/register", `{"Name":"c","ServiceID":"web1","Args":["true"],"Interval":"5s"}`, 400, "Args"},
		{"check/register: bad interval", "/v1/agent/check/register", `{"Name":"c","ServiceID":"web1","TCP":"127.0.0.1:1","Interval":"soon"}`, 400, "Interval"},
		{"check/update: bad JSON", "/v1/agent/check/update/service:web2", `{"Status":`, 400, "JSON"},
		{"check/update: status wrong type", "/v1/agent/check/update/service:web2", `{"Status":1}`, 400, "Status"},
		{"check/update: no status", "/v1/agent/check/update/service:web2", `{"Output":"x"}`, 400, "Status"},
		{"check/update: output wrong type", "/v1/agent/check/update/service:web2", `{"Status":"passing","Output":["x"]}`, 400, "Output"},
		{"maintenance: reason too long", "/v1/agent/service/maintenance/web1?enable=true&reason=" + long(1025), "", 400, "reason"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.st.Snapshot()
			r := e.with(t).must(c.code, "PUT", c.path, c.body)
			errorLine(t, r)
			if !strings.Contains(r.body, c.field) {
				t.Errorf("message %q does not name %q", r.body, c.field)
			}
			sameCatalog(t, before, e.st.Snapshot())
		})
	}
	// Replacing the checks makes room again.
	e.must(http.StatusOK, "PUT", "/v1/agent/service/register?replace-existing-checks", `{"ID":"full","Name":"full","Checks":[`+ttls("b", 32)+`]}`)
	if n := len(e.st.Snapshot().Instance("full").Checks); n != 32 {
		t.Errorf("after replacing, %d checks", n)
	}
}
