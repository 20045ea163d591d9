package main

import (
	"encoding/json"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// explain runs `beacon explain NAME -json [more]` against p.
func (p *proc) explain(t *testing.T, name string, more ...string) explanation {
	t.Helper()
	out, _ := p.cli(t, 0, nil, append([]string{"explain", name, "-json"}, more...)...)
	var x explanation
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("explain -json: %v in %s", err, out)
	}
	return x
}

// dnsView is what an A query answers: the addresses and the RRset's TTL.
func (p *proc) dnsView(t *testing.T, qname string) (addrs []string, ttl uint32) {
	t.Helper()
	r := p.query(t, qname, dns.TypeA)
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			addrs = append(addrs, a.A.String())
			ttl = a.Hdr.Ttl
		}
	}
	slices.Sort(addrs)
	return addrs, ttl
}

// agree requires explain and DNS to agree: DNS answers with exactly the
// instances explain says are in, and the RRset's TTL is the smallest of
// theirs.
func agree(t *testing.T, p *proc, x explanation, qname string, addrOf map[string]string) {
	t.Helper()
	var want []string
	minTTL := 0
	for _, in := range x.Instances {
		if in.InDNS {
			want = append(want, addrOf[in.ID])
			if minTTL == 0 || in.TTL < minTTL {
				minTTL = in.TTL
			}
		}
	}
	slices.Sort(want)
	got, ttl := p.dnsView(t, qname)
	if !slices.Equal(got, want) {
		t.Errorf("%s: DNS answers %v, explain says %v", qname, got, want)
	}
	// A second may pass between the two reads of a TTL-check deadline.
	if len(want) > 0 && (int(ttl) > minTTL || int(ttl) < minTTL-1) {
		t.Errorf("%s: DNS TTL %d, explain's smallest %d", qname, ttl, minTTL)
	}
}

func reasonWith(in instanceExplanation, parts ...string) bool {
	for _, r := range in.Reasons {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestExplainBinary breaks instances in each way explain must report,
// through the real binary with -only-passing, and compares explain's
// answer with what DNS answers.
func TestExplainBinary(t *testing.T) {
	t.Parallel()
	p := startBeacon(t, t.TempDir(), testkit.Options{Args: []string{"-only-passing", "-ttl", "30s", "-warning-ttl", "5s"}})
	addrOf := map[string]string{"ok": "10.0.0.1", "failing": "10.0.0.2", "maint": "10.0.0.3", "warn": "10.0.0.4", "fast": "10.0.0.5"}
	for _, args := range [][]string{
		{"register", "-name", "web", "-id", "ok", "-address", "10.0.0.1", "-tag", "blue"},
		{"register", "-name", "web", "-id", "failing", "-address", "10.0.0.2", "-tag", "blue", "-ttl", "1m"},
		{"fail", "service:failing", "-note", "connection refused"},
		{"register", "-name", "web", "-id", "maint", "-address", "10.0.0.3", "-tag", "blue"},
		{"maint", "maint", "-reason", "kernel upgrade"},
		{"register", "-name", "web", "-id", "warn", "-address", "10.0.0.4", "-ttl", "1m"},
		{"warn", "service:warn", "-note", "slow disk"},
		{"register", "-name", "web", "-id", "fast", "-address", "10.0.0.5", "-tag", "green", "-http", p.URL + "/healthz", "-interval", "3s"},
	} {
		p.cli(t, 0, nil, args...)
	}
	eventually(t, 10*time.Second, func() string {
		for _, in := range p.explain(t, "web").Instances {
			if in.ID == "fast" && in.InDNS {
				return ""
			}
		}
		return "the HTTP check of fast never passed"
	})
	x := p.explain(t, "web")
	by := map[string]instanceExplanation{}
	for _, in := range x.Instances {
		by[in.ID] = in
	}
	if x.Service != "web" || x.Panic {
		t.Errorf("explain web: %+v", x)
	}
	if in := by["ok"]; !in.InDNS || in.TTL != 30 || len(in.Reasons) != 0 {
		t.Errorf("ok: %+v", in)
	}
	if in := by["failing"]; in.InDNS || !reasonWith(in, `"service:failing" is critical since`, "connection refused") {
		t.Errorf("failing: %+v", in)
	}
	if in := by["maint"]; in.InDNS || !reasonWith(in, "maintenance", "kernel upgrade") {
		t.Errorf("maint: %+v", in)
	}
	if in := by["warn"]; in.InDNS || !reasonWith(in, `"service:warn" is warning`, "-only-passing", "slow disk") {
		t.Errorf("warn: %+v", in)
	}
	if in := by["fast"]; !in.InDNS || in.TTL != 3 || !slices.ContainsFunc(in.TTLCaps, func(c string) bool { return strings.Contains(c, "interval 3s") }) {
		t.Errorf("fast: %+v", in)
	}
	agree(t, p, x, "web.service.local", addrOf)

	xb := p.explain(t, "web", "-tag", "blue")
	if xb.Tag != "blue" {
		t.Errorf("explain -tag blue: %+v", xb)
	}
	for _, in := range xb.Instances {
		if in.ID == "fast" && (in.InDNS || !reasonWith(in, `tag "blue"`)) {
			t.Errorf("fast for tag blue: %+v", in)
		}
	}
	agree(t, p, xb, "blue.web.service.local", addrOf)

	// For people: a headline, and each reason on a line of its own.
	out, _ := p.cli(t, 0, nil, "explain", "web")
	for _, want := range []string{
		"web: DNS answers with 2 of 5 instances\n",
		"ID       IN DNS  TTL  WHY\n",
		"ok       yes     30s  TTL: -ttl 30s: the instance is passing\n",
		"maint    no      -    it is in maintenance mode since ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain web lacks %q:\n%s", want, out)
		}
	}

	for _, args := range [][]string{{"explain", "nope"}, {"explain", "nope", "-json"}} {
		stdout, stderr := p.cli(t, 1, nil, args...)
		if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `no service named "nope"`) || !strings.Contains(stderr, "(HTTP 404)") {
			t.Errorf("beacon %s: %q %q", strings.Join(args, " "), stdout, stderr)
		}
	}
}

// TestExplainPanicBinary pushes a service under -panic-threshold and back,
// and reads explain and DNS on the way.
func TestExplainPanicBinary(t *testing.T) {
	t.Parallel()
	p := startBeacon(t, t.TempDir(), testkit.Options{Args: []string{"-panic-threshold", "0.5", "-ttl", "30s", "-warning-ttl", "4s"}})
	addrOf := map[string]string{"web1": "10.0.0.1", "web2": "10.0.0.2", "web3": "10.0.0.3"}
	for id, addr := range addrOf {
		p.cli(t, 0, nil, "register", "-name", "web", "-id", id, "-address", addr, "-ttl", "1m")
	}
	p.cli(t, 0, nil, "pass", "service:web1")
	x := p.explain(t, "web")
	if !x.Panic {
		t.Fatalf("1 of 3 healthy, below 0.5, yet no panic: %+v", x)
	}
	for _, in := range x.Instances {
		if !in.InDNS || in.TTL != 4 {
			t.Errorf("%s in panic mode: %+v", in.ID, in)
		}
		if in.ID != "web1" && !reasonWith(in, "panic mode", "-panic-threshold 0.5") {
			t.Errorf("%s does not say panic mode lets it in: %q", in.ID, in.Reasons)
		}
	}
	agree(t, p, x, "web.service.local", addrOf)
	out, _ := p.cli(t, 0, nil, "explain", "web")
	if !strings.Contains(out, "the service is in panic mode") {
		t.Errorf("explain web does not say panic mode:\n%s", out)
	}

	p.cli(t, 0, nil, "pass", "service:web2")
	x = p.explain(t, "web")
	if x.Panic {
		t.Fatalf("2 of 3 healthy, over 0.5, yet panic: %+v", x)
	}
	agree(t, p, x, "web.service.local", addrOf)
	if got, _ := p.dnsView(t, "web.service.local"); len(got) != 2 {
		t.Errorf("out of panic mode DNS answers %v", got)
	}
}

// TestHistoryBinary reads an instance's history through the CLI, then
// again after beacon restarted on the same data directory.
func TestHistoryBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startBeacon(t, dir, testkit.Options{})
	for _, args := range [][]string{
		{"register", "-name", "job", "-id", "job1", "-address", "10.0.0.8", "-ttl", "1m"},
		{"pass", "service:job1", "-note", "batch ok"},
		{"fail", "service:job1", "-note", "batch failed: exit 3"},
		{"maint", "job1", "-reason", "disk swap"},
	} {
		p.cli(t, 0, nil, args...)
	}
	check := func(p *proc) {
		t.Helper()
		out, _ := p.cli(t, 0, nil, "history", "job1", "-json")
		var trs []transition
		if err := json.Unmarshal([]byte(out), &trs); err != nil {
			t.Fatalf("history -json: %v in %s", err, out)
		}
		var got []string
		for _, tr := range trs {
			got = append(got, tr.From+">"+tr.To+" "+tr.CheckID+" "+tr.Output)
		}
		// Maintenance of a critical instance changes no health: no
		// transition.
		want := []string{"passing>critical service:job1 batch failed: exit 3", "critical>passing service:job1 batch ok"}
		if !slices.Equal(got, want) {
			t.Fatalf("history\n%q\nwant\n%q", got, want)
		}
		out, _ = p.cli(t, 0, nil, "history", "job1")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME ") || !strings.Contains(lines[1], "passing   critical  service:job1  batch failed: exit 3") {
			t.Fatalf("history table:\n%s", out)
		}
	}
	check(p)
	if code := p.stop(syscall.SIGTERM, 15*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	p = startBeacon(t, dir, testkit.Options{})
	check(p)
	stdout, stderr := p.cli(t, 1, nil, "history", "nope")
	if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `"nope"`) || !strings.Contains(stderr, "(HTTP 404)") {
		t.Errorf("history nope: %q %q", stdout, stderr)
	}
	p.cli(t, 0, nil, "register", "-name", "quiet", "-address", "10.0.0.9")
	if out, _ := p.cli(t, 0, nil, "history", "quiet"); out != "quiet has no health transitions recorded\n" {
		t.Errorf("history of a quiet instance: %q", out)
	}
}
