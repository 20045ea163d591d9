package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/miekg/dns"
)

// Query kinds the harness measures, in table order.
const (
	kindSRV = "SRV"
	kindA   = "A"
	kindNX  = "NXDOMAIN"
)

var kinds = []string{kindSRV, kindA, kindNX}

// instance is one registered service instance of the data set.
type instance struct {
	ID   string
	Name string
	Addr netip.Addr
	Port uint16
}

// target is the SRV target beacon gives an instance with an IPv4 address:
// <8 hex digits>.addr.<domain>. (DESIGN.md, "SRV targets").
func (in instance) target(domain string) string {
	a := in.Addr.As4()
	return fmt.Sprintf("%02x%02x%02x%02x.addr.%s", a[0], a[1], a[2], a[3], dns.Fqdn(domain))
}

// service is one service name with its instances.
type service struct {
	Name      string
	Instances []instance
}

// dataset is what the harness registers, queries and checks.
type dataset struct {
	Domain   string // fully qualified, lower-case, e.g. "service.local."
	Services []service
	Missing  []string // names in the zone that are not registered: NXDOMAIN
}

// newDataset builds n services of k instances each, every instance with
// its own IPv4 address (10.x.y.z) and port, and n unregistered names.
func newDataset(domain string, n, k int) *dataset {
	ds := &dataset{Domain: dns.CanonicalName(domain)}
	seq := 0
	for i := 0; i < n; i++ {
		svc := service{Name: fmt.Sprintf("svc%03d", i)}
		for j := 0; j < k; j++ {
			seq++
			svc.Instances = append(svc.Instances, instance{
				ID:   fmt.Sprintf("%s-%d", svc.Name, j+1),
				Name: svc.Name,
				Addr: netip.AddrFrom4([4]byte{10, byte(seq >> 16), byte(seq >> 8), byte(seq)}),
				Port: uint16(20000 + seq),
			})
		}
		ds.Services = append(ds.Services, svc)
		ds.Missing = append(ds.Missing, fmt.Sprintf("nosuch%03d", i))
	}
	return ds
}

// fqdn is name.<domain>.
func (ds *dataset) fqdn(name string) string { return name + "." + ds.Domain }

// question is one query of the load: a name, a type and what kind of
// answer it should get.
type question struct {
	Kind  string
	Name  string // fully qualified, lower-case
	Type  uint16
	Index int // index into Services (SRV, A) or Missing (NXDOMAIN)
}

// questions lists the questions of one kind, one per service (or missing
// name), in data set order.
func (ds *dataset) questions(kind string) []question {
	var qs []question
	switch kind {
	case kindSRV, kindA:
		t := dns.TypeSRV
		if kind == kindA {
			t = dns.TypeA
		}
		for i, s := range ds.Services {
			qs = append(qs, question{Kind: kind, Name: ds.fqdn(s.Name), Type: t, Index: i})
		}
	case kindNX:
		for i, m := range ds.Missing {
			qs = append(qs, question{Kind: kind, Name: ds.fqdn(m), Type: dns.TypeA, Index: i})
		}
	}
	return qs
}

// allQuestions is every question of every kind.
func (ds *dataset) allQuestions() []question {
	var qs []question
	for _, k := range kinds {
		qs = append(qs, ds.questions(k)...)
	}
	return qs
}

// writeQueries writes qs in dnsperf's input format: one "name TYPE" a line.
// dnsperf cycles through the file, so every question is asked equally often.
func writeQueries(w io.Writer, qs []question) error {
	bw := bufio.NewWriter(w)
	for _, q := range qs {
		fmt.Fprintf(bw, "%s %s\n", q.Name, dns.TypeToString[q.Type])
	}
	return bw.Flush()
}

// writeQueryFiles writes one dnsperf input file per kind into dir and
// returns their paths by kind.
func writeQueryFiles(dir string, ds *dataset) (map[string]string, error) {
	paths := make(map[string]string, len(kinds))
	for _, k := range kinds {
		p := filepath.Join(dir, "queries-"+k+".txt")
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		err = writeQueries(f, ds.questions(k))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		paths[k] = p
	}
	return paths, nil
}
