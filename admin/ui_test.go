package admin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// uiEnv is an API with the feed of recent changes running, seeded with
// services whose names, tags, meta and output try to inject markup.
func uiEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	e := newEnv(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.api.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Run subscribes in its own goroutine; changes before that are not
	// listed. Poke until one is.
	port := 0
	waitFor(t, "Run to subscribe", func() bool {
		port++
		e.register(fmt.Sprintf(`{"ID":"probe","Name":"probe","Port":%d}`, port))
		return len(e.api.recent.list()) > 0
	})
	e.must(200, "PUT", "/v1/agent/service/deregister/probe", "")
	e.seed()
	e.register(`{"ID":"evil","Name":"xss","Tags":["<script>alert(1)</script>"],"Meta":{"k":"<img src=x>"},"Check":{"TTL":"10s","Status":"passing"}}`)
	e.register(`{"ID":"api1","Name":"api","Address":"10.0.1.1","Port":9000,"Tags":["internal"],
		"Check":{"HTTP":"http://10.0.1.1:9000/health","Interval":"5s","Header":{"Authorization":["Bearer hunter2"]}}}`)
	e.must(200, "PUT", "/v1/agent/check/fail/service:web2?note=%3Cb%3Eboom%3C/b%3E", "")
	e.must(200, "PUT", "/v1/agent/service/maintenance/web1?enable=true&reason=%3Ci%3Ekernel%3C/i%3E+upgrade", "")
	waitFor(t, "recent changes", func() bool { return len(e.api.recent.list()) >= 7 })
	return e
}

// page gets a UI page that must answer 200 as HTML under the policy.
func (e *env) page(t *testing.T, path string, headers ...string) string {
	t.Helper()
	r := e.must(http.StatusOK, "GET", path, "", headers...)
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	if csp := r.header.Get("Content-Security-Policy"); csp != uiCSP || !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("%s: Content-Security-Policy %q", path, csp)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no nosniff", path)
	}
	return r.body
}

// rows returns the data-name of each service row of a list page.
var serviceRow = regexp.MustCompile(`<tr data-name="([^"]*)"`)

func listed(body string) []string {
	var names []string
	for _, m := range serviceRow.FindAllStringSubmatch(body, -1) {
		names = append(names, m[1])
	}
	return names
}

// TestUIEscapes shows every page escaping what registrants control.
func TestUIEscapes(t *testing.T) {
	e := uiEnv(t, Config{})
	for _, path := range []string{"/ui/", "/ui/services/xss", "/ui/instances/evil", "/ui/services/web", "/ui/instances/web2", "/ui/instances/web1"} {
		body := e.page(t, path)
		for _, raw := range []string{"<script>alert", "<img", "<b>boom", "<i>kernel"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s carries %q unescaped", path, raw)
			}
		}
		// The only script is the search's, allowed by its hash.
		if n := strings.Count(body, "<script"); n > 1 || n == 1 && path != "/ui/" {
			t.Errorf("%s has %d scripts", path, n)
		}
	}
	if body := e.page(t, "/ui/instances/evil"); !strings.Contains(body, "&lt;img src=x&gt;") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the instance page does not show the escaped meta and tag")
	}
}

// TestUIScriptHash proves the policy allows the page's script, which a
// browser checks by hashing the text between the tags.
func TestUIScriptHash(t *testing.T) {
	e := uiEnv(t, Config{})
	body := e.page(t, "/ui/")
	m := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the list page has no script")
	}
	sum := sha256.Sum256([]byte(m[1]))
	if want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(uiCSP, want) {
		t.Errorf("policy %q does not allow the script served (%s)", uiCSP, want)
	}
	// The script hides rows with the hidden attribute, which the stacked
	// tables' display:block would otherwise override on a phone.
	if !strings.Contains(body, "[hidden]{display:none!important}") {
		t.Errorf("the layout does not keep hidden rows hidden")
	}
	for _, d := range strings.Split(uiCSP, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "script-src" && len(f) != 2 {
			t.Errorf("policy %q allows more scripts than the one", uiCSP)
		}
	}
}

// TestUISearch filters the list the way the form sends it, without
// JavaScript.
func TestUISearch(t *testing.T) {
	e := uiEnv(t, Config{})
	cases := []struct {
		name, query string
		want        []string
	}{
		{"everything", "", []string{"api", "db", "web", "xss"}},
		{"by name", "?q=we", []string{"web"}},
		{"by name, any case", "?q=WEB", []string{"web"}},
		{"by tag", "?q=primary", []string{"web"}},
		{"by part of a tag", "?q=intern", []string{"api"}},
		{"by health", "?health=critical", []string{"api", "web"}},
		{"name and health", "?q=api&health=critical", []string{"api"}},
		{"with a passing instance", "?health=passing", []string{"db", "xss"}},
		{"nothing", "?q=nope", nil},
		{"empty fields as a form sends them", "?q=&health=", []string{"api", "db", "web", "xss"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := e.with(t).page(t, "/ui/"+c.query)
			if got := listed(body); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("listed %v, want %v", got, c.want)
			}
			if c.want == nil && !strings.Contains(body, "No service matches") {
				t.Errorf("an empty result says nothing")
			}
		})
	}
	r := e.do("GET", "/ui/?health=sick", "")
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, "health") {
		t.Errorf("a bad health filter: %d %q", r.code, r.body)
	}
	errorLine(t, r)
	body := e.page(t, "/ui/?q=web&health=critical")
	if !strings.Contains(body, `value="web"`) || !strings.Contains(body, `<option value="critical" selected>`) {
		t.Errorf("the form does not show the search it answered")
	}
	if !strings.Contains(body, "1 of 4 services match") {
		t.Errorf("the page does not count the matches")
	}
}

func TestUIListPage(t *testing.T) {
	e := uiEnv(t, Config{})
	body := e.page(t, "/ui/")
	for _, want := range []string{
		`<a href="/ui/services/web"><strong>web</strong></a>`,
		`<span class="badge critical">2 critical</span>`, // web1 in maintenance, web2 failed
		"deregistered from probe", "passing → critical", "registered in web", "2030-01-02 03:04:05Z",
		`<a href="/ui/instances/web2"><code>web2</code></a>`,
		`name="viewport"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("list page lacks %q", want)
		}
	}
	if r := e.do("GET", "/?token=x", ""); r.code != 200 {
		t.Errorf("/ → %d", r.code)
	}
	if r := e.do("GET", "/ui", ""); r.code != 200 {
		t.Errorf("/ui → %d", r.code)
	}
}

func TestUIServicePage(t *testing.T) {
	e := uiEnv(t, Config{})
	body := e.page(t, "/ui/services/web")
	for _, want := range []string{
		"<h1>web</h1>", "2 instances", `href="/ui/instances/web1"`, `href="/ui/instances/web2"`,
		"10.0.0.1:8080", "maintenance: &lt;i&gt;kernel&lt;/i&gt; upgrade", "service:web2", "&lt;b&gt;boom&lt;/b&gt;",
		`<span class="tag">primary</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("service page lacks %q", want)
		}
	}
	if body := e.page(t, "/ui/services/WEB?health=passing"); strings.Contains(body, "/ui/instances/web") {
		t.Errorf("health=passing lists a critical instance")
	}
	for path, want := range map[string]int{"/ui/services/nope": 404, "/ui/services/web?health=sick": 400} {
		r := e.do("GET", path, "")
		if r.code != want {
			t.Errorf("%s: %d, want %d", path, r.code, want)
		}
		errorLine(t, r)
	}
}

func TestUIInstancePage(t *testing.T) {
	e := uiEnv(t, Config{})
	body := e.page(t, "/ui/instances/api1")
	for _, want := range []string{
		"<code>api1</code>", `href="/ui/services/api"`, "10.0.1.1:9000", "internal",
		"GET http://10.0.1.1:9000/health", "Authorization (values hidden)", "<code>5s</code>",
		"passing 1, warning 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("instance page lacks %q", want)
		}
	}
	if strings.Contains(body, "hunter2") {
		t.Errorf("the instance page shows a header value")
	}
	body = e.page(t, "/ui/instances/web1")
	for _, want := range []string{"on</span>: &lt;i&gt;kernel&lt;/i&gt; upgrade", "version", "1.0", "No checks"} {
		if !strings.Contains(body, want) {
			t.Errorf("web1's page lacks %q", want)
		}
	}
	body = e.page(t, "/ui/instances/web2")
	for _, want := range []string{"TTL", "30s", "&lt;b&gt;boom&lt;/b&gt;", "critical at"} {
		if !strings.Contains(body, want) {
			t.Errorf("web2's page lacks %q", want)
		}
	}
	r := e.do("GET", "/ui/instances/nope", "")
	if r.code != 404 || !strings.Contains(r.body, "nope") {
		t.Errorf("unknown instance: %d %q", r.code, r.body)
	}
	errorLine(t, r)
}

// TestUIToken: with a token, the pages need it, and links and forms
// carry a ?token= on so a browser can follow them.
func TestUIToken(t *testing.T) {
	e := newEnv(t, Config{Token: "s3cret"})
	for _, id := range []string{"web1", "web2"} {
		if _, err := e.st.Register(store.Registration{ID: id, Name: "web", Address: "10.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/ui/", "/ui/services/web", "/ui/instances/web1"} {
		if r := e.do("GET", path, ""); r.code != http.StatusForbidden {
			t.Errorf("%s without the token: %d", path, r.code)
		}
	}
	body := e.page(t, "/ui/?token=s3cret")
	if !strings.Contains(body, `href="/ui/services/web?token=s3cret"`) || !strings.Contains(body, `name="token" value="s3cret"`) {
		t.Errorf("links and the form do not carry the token")
	}
	body = e.page(t, "/ui/services/web?token=s3cret")
	if !strings.Contains(body, `href="/ui/instances/web1?token=s3cret"`) {
		t.Errorf("the service page's links do not carry the token")
	}
	body = e.page(t, "/ui/services/web", "X-Consul-Token", "s3cret")
	if strings.Contains(body, "token=") {
		t.Errorf("a token sent as a header leaks into links")
	}
}

// TestUIExplainAndPanic: the service and instance pages say whether DNS
// answers with each instance and why not, and the list marks and finds
// the services in panic mode.
func TestUIExplainAndPanic(t *testing.T) {
	e := newEnv(t, Config{Policy: store.DNSPolicy{PanicThreshold: 0.6, TTL: 30 * time.Second, WarningTTL: 5 * time.Second}})
	e.register(`{"ID":"web1","Name":"web","Address":"10.0.0.1","Tags":["blue"]}`)
	e.register(`{"ID":"web2","Name":"web","Address":"10.0.0.2","Check":{"TTL":"1m","Status":"passing"}}`)
	e.must(200, "PUT", "/v1/agent/check/fail/service:web2?note=connection+refused", "")
	e.register(`{"ID":"db1","Name":"db","Address":"10.0.0.9","Check":{"TTL":"1m","Status":"passing"}}`)
	e.register(`{"ID":"db2","Name":"db","Address":"10.0.0.8","Check":{"TTL":"1m","Status":"passing"}}`)
	e.must(200, "PUT", "/v1/agent/check/fail/service:db2?note=timeout", "")
	e.must(200, "PUT", "/v1/agent/service/maintenance/db1?enable=true&reason=backup", "")

	// web: 1 of 2 healthy is below 0.6.
	body := e.page(t, "/ui/services/web")
	for _, want := range []string{"Panic mode", "with <strong>2</strong> of 2 instances", "panic mode (1 of 2"} {
		if !strings.Contains(body, want) {
			t.Errorf("web's page lacks %q", want)
		}
	}
	body = e.page(t, "/ui/services/web?tag=blue")
	for _, want := range []string{"with <strong>1</strong> of 2 instances", `does not carry the tag &#34;blue&#34;`, `<option value="blue" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("web's page for tag blue lacks %q", want)
		}
	}
	// db: its one instance out of maintenance is critical, so panic
	// mode lets it in; the one in maintenance stays out.
	body = e.page(t, "/ui/instances/db1")
	for _, want := range []string{`<span class="no">No.</span>`, "maintenance mode since", "backup"} {
		if !strings.Contains(body, want) {
			t.Errorf("db1's page lacks %q", want)
		}
	}
	body = e.page(t, "/ui/instances/web1")
	if !strings.Contains(body, `<span class="yes">Yes</span>, with TTL 5s.`) || !strings.Contains(body, "-warning-ttl 5s: the service is in panic mode") {
		t.Errorf("web1's page does not give its TTL in panic mode")
	}
	body = e.page(t, "/ui/")
	if strings.Count(body, ">panic mode</span>") != 2 {
		t.Errorf("the list does not mark both services in panic mode")
	}
	e.must(200, "PUT", "/v1/agent/check/pass/service:web2", "")
	if got := listed(e.page(t, "/ui/?health=panic")); strings.Join(got, ",") != "db" {
		t.Errorf("health=panic lists %v, want [db]", got)
	}
}
