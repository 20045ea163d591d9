package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// checkAnswer reports how resp differs from the answer q must get from
// the data set: the records themselves, not only the rcode.
//   - SRV: NOERROR, AA, one SRV per instance (priority 1, weight 1 — all are
//     passing with default weights — its port and <hex>.addr target), and
//     the target's A record in the additional section;
//   - A: NOERROR, AA, exactly the instances' addresses;
//   - NXDOMAIN: NXDOMAIN, AA, no answer, the zone's SOA in authority.
func checkAnswer(ds *dataset, q question, resp *dns.Msg) error {
	if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, q.Name) || resp.Question[0].Qtype != q.Type {
		return fmt.Errorf("question not echoed: %v", resp.Question)
	}
	if !resp.Authoritative {
		return errors.New("AA bit clear")
	}
	if q.Kind == kindNX {
		return checkNX(ds, resp)
	}
	if resp.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("rcode %s, want NOERROR", dns.RcodeToString[resp.Rcode])
	}
	insts := ds.Services[q.Index].Instances
	if q.Kind == kindA {
		return checkA(insts, resp.Answer)
	}
	return checkSRV(ds.Domain, insts, resp)
}

func checkNX(ds *dataset, resp *dns.Msg) error {
	if resp.Rcode != dns.RcodeNameError {
		return fmt.Errorf("rcode %s, want NXDOMAIN", dns.RcodeToString[resp.Rcode])
	}
	if len(resp.Answer) != 0 {
		return fmt.Errorf("NXDOMAIN with %d answer records", len(resp.Answer))
	}
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, ds.Domain) {
			return nil
		}
	}
	return fmt.Errorf("no SOA of %s in authority: %v", ds.Domain, resp.Ns)
}

func checkA(insts []instance, answer []dns.RR) error {
	var got, want []string
	for _, rr := range answer {
		a, ok := rr.(*dns.A)
		if !ok {
			return fmt.Errorf("unexpected record in answer: %v", rr)
		}
		got = append(got, a.A.String())
	}
	for _, in := range insts {
		want = append(want, in.Addr.String())
	}
	return sameSet("A", got, want)
}

func checkSRV(domain string, insts []instance, resp *dns.Msg) error {
	var got, want, gotGlue, wantGlue []string
	for _, rr := range resp.Answer {
		srv, ok := rr.(*dns.SRV)
		if !ok {
			return fmt.Errorf("unexpected record in answer: %v", rr)
		}
		got = append(got, fmt.Sprintf("%d %d %d %s", srv.Priority, srv.Weight, srv.Port, strings.ToLower(srv.Target)))
	}
	for _, in := range insts {
		want = append(want, fmt.Sprintf("1 1 %d %s", in.Port, in.target(domain)))
		wantGlue = append(wantGlue, in.target(domain)+" "+in.Addr.String())
	}
	if err := sameSet("SRV", got, want); err != nil {
		return err
	}
	for _, rr := range resp.Extra {
		if a, ok := rr.(*dns.A); ok {
			gotGlue = append(gotGlue, strings.ToLower(a.Hdr.Name)+" "+a.A.String())
		}
	}
	return sameSet("glue A", gotGlue, wantGlue)
}

// sameSet compares two lists as sets with multiplicity.
func sameSet(what string, got, want []string) error {
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s records %q, want %q", what, got, want)
	}
	return nil
}

// exchange asks one question over proto ("udp" or "tcp"), without EDNS as
// dnsperf does.
func exchange(ctx context.Context, c *dns.Client, addr string, q question) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	resp, _, err := c.ExchangeContext(ctx, m, addr)
	if err != nil {
		return nil, err
	}
	if resp.Truncated {
		return nil, errors.New("truncated")
	}
	return resp, nil
}

// verifyAll asks every question of ds over proto and checks each answer.
func verifyAll(ctx context.Context, addr, proto string, ds *dataset) error {
	return verifyQuestions(ctx, addr, proto, ds, ds.allQuestions())
}

// verifyQuestions asks qs over proto and checks each answer. A timeout is
// retried a few times; a wrong answer is not.
func verifyQuestions(ctx context.Context, addr, proto string, ds *dataset, qs []question) error {
	c := &dns.Client{Net: proto, Timeout: 2 * time.Second}
	var errs []error
	for _, q := range qs {
		var resp *dns.Msg
		var err error
		for range 3 {
			if resp, err = exchange(ctx, c, addr, q); err == nil || !isTimeout(err) {
				break
			}
		}
		if err == nil {
			err = checkAnswer(ds, q, resp)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s over %s: %w", q.Name, dns.TypeToString[q.Type], proto, err))
			if len(errs) >= 5 {
				errs = append(errs, errors.New("(stopped after 5 errors)"))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sampleResult counts what the sampler saw while a server was under load.
type sampleResult struct {
	Checked  int     // answers checked and correct
	Timeouts int     // questions lost (UDP under overload may drop)
	Failed   int     // wrong answers
	Errors   []error // the first few wrong answers
}

// sampleDuring asks random questions of the kind under load, over the same
// transport, every interval until ctx ends, and checks each answer. It
// adds a few dozen queries a second to hundreds of thousands, so it does
// not change the measurement, and it catches a server that answers fast
// but wrongly under load.
func sampleDuring(ctx context.Context, addr, proto string, ds *dataset, kind string, interval time.Duration) sampleResult {
	var res sampleResult
	c := &dns.Client{Net: proto, Timeout: time.Second}
	qs := ds.questions(kind)
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return res
		case <-t.C:
		}
		q := qs[(i*37)%len(qs)]
		resp, err := exchange(ctx, c, addr, q)
		if err != nil && (isTimeout(err) || ctx.Err() != nil) {
			res.Timeouts++
			continue
		}
		if err == nil {
			err = checkAnswer(ds, q, resp)
		}
		if err == nil {
			res.Checked++
			continue
		}
		res.Failed++
		if len(res.Errors) < 5 {
			res.Errors = append(res.Errors, fmt.Errorf("%s %s over %s under load: %w", q.Name, dns.TypeToString[q.Type], proto, err))
		}
	}
}

// captureAnswers asks addr every question of ds over UDP without EDNS (as
// dnsperf asks), checks each answer, and keeps its packed form exactly as
// received, for the reference server to replay.
func captureAnswers(ctx context.Context, addr string, ds *dataset) ([]cannedAnswer, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	buf := make([]byte, 65535)
	var out []cannedAnswer
	for _, q := range ds.allQuestions() {
		wire, err := askRaw(ctx, conn, q, buf)
		if err != nil {
			return nil, fmt.Errorf("capture %s %s: %w", q.Name, dns.TypeToString[q.Type], err)
		}
		resp := new(dns.Msg)
		if err := resp.Unpack(wire); err != nil {
			return nil, fmt.Errorf("capture %s: %w", q.Name, err)
		}
		if err := checkAnswer(ds, q, resp); err != nil {
			return nil, fmt.Errorf("capture %s %s: %w", q.Name, dns.TypeToString[q.Type], err)
		}
		out = append(out, cannedAnswer{Name: q.Name, Type: q.Type, Wire: wire})
	}
	return out, nil
}

// askRaw sends q on a connected UDP socket and returns a copy of the reply
// whose ID matches, retrying on timeout.
func askRaw(ctx context.Context, conn net.Conn, q question, buf []byte) ([]byte, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	pkt, err := m.Pack()
	if err != nil {
		return nil, err
	}
	for range 3 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if _, err := conn.Write(pkt); err != nil {
			return nil, err
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if isTimeout(err) {
					break
				}
				return nil, err
			}
			if n >= 2 && buf[0] == pkt[0] && buf[1] == pkt[1] {
				return append([]byte(nil), buf[:n]...), nil
			}
		}
	}
	return nil, errors.New("no answer after 3 tries")
}
