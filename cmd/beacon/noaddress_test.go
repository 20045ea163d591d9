package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestServeNoAddress: an instance registered without Address reads back
// with Address "" from the API, as in Consul, while DNS answers with
// -advertise.
func TestServeNoAddress(t *testing.T) {
	addr, logs := serveInProcess(t, "-advertise", "127.0.0.9")
	req, _ := http.NewRequest("PUT", "http://"+addr+"/v1/agent/service/register", strings.NewReader(`{"ID":"na1","Name":"noaddr","Port":8080}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register: %s", resp.Status)
	}
	resp, err = http.Get("http://" + addr + "/v1/agent/service/na1")
	if err != nil {
		t.Fatal(err)
	}
	var svc struct{ Address string }
	err = json.NewDecoder(resp.Body).Decode(&svc)
	resp.Body.Close()
	if err != nil || svc.Address != "" {
		t.Errorf("API Address = %q, %v; want \"\"", svc.Address, err)
	}
	m := regexp.MustCompile(`dns listening" udp=(127\.0\.0\.1:\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no DNS address in the log:\n%s", logs)
	}
	q := new(dns.Msg)
	q.SetQuestion("noaddr.service.local.", dns.TypeA)
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(q, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.9" {
		t.Errorf("DNS answer %v, want the advertise address 127.0.0.9", r.Answer)
	}
}
