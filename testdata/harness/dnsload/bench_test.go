package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit/teststore"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/dnsserver"
	"github.com/beacon-dns/beacon/store"
)

// BenchmarkServers drives beacon's DNS server and the reference replay
// handler in this process over loopback UDP and TCP, with 20 sockets of
// 4 queries outstanding each, cycling over the
// data set's questions. Client work is the same for both servers, so the
// difference in ns/op is the server's; run with -cpuprofile and look at
// the frames below dns.(*Server).serveUDP / serveTCPConn:
//
//	go test -run '^$' -bench 'Servers/udp/SRV' -cpuprofile cpu.out ./dnsload
//	go tool pprof -top -focus 'dns.\(\*Server\)' dnsload.test cpu.out
func BenchmarkServers(b *testing.B) {
	ds := newDataset("service.local", 100, 3)
	beacon := startInProcessBeacon(b, ds)
	canned, err := captureAnswers(context.Background(), beacon, ds)
	if err != nil {
		b.Fatal(err)
	}
	servers := []struct{ name, addr string }{
		{nameBeacon, beacon},
		{nameReference, startInProcessReference(b, canned)},
	}
	for _, proto := range []string{"udp", "tcp"} {
		for _, kind := range kinds {
			packets := packQueries(b, ds.questions(kind))
			for _, s := range servers {
				b.Run(proto+"/"+kind+"/"+s.name, func(b *testing.B) {
					drive(b, proto, s.addr, packets)
				})
			}
		}
	}
}

func startInProcessBeacon(b *testing.B, ds *dataset) string {
	quiet := slog.New(slog.DiscardHandler)
	st := teststore.Open(b, store.Options{NodeName: "bench", Logger: quiet})
	for _, s := range ds.Services {
		for _, in := range s.Instances {
			if _, err := st.Register(store.Registration{ID: in.ID, Name: in.Name, Address: in.Addr.String(), Port: int(in.Port)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	srv, err := dnsserver.New(dnsserver.Config{Addr: "127.0.0.1:0", Logger: quiet}, st)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv.UDPAddr().String()
}

// startInProcessReference serves canned answers on one port over UDP and
// TCP, configured as the reference process is.
func startInProcessReference(b *testing.B, canned []cannedAnswer) string {
	pc, ln, err := listenReference("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range referenceServers(pc, ln, newReplayHandler(canned)) {
		go func() { _ = s.ActivateAndServe() }()
		b.Cleanup(func() { _ = s.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func packQueries(b *testing.B, qs []question) [][]byte {
	var out [][]byte
	for _, q := range qs {
		m := new(dns.Msg)
		m.SetQuestion(q.Name, q.Type)
		p, err := m.Pack()
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

const (
	benchConns       = 20
	benchOutstanding = 4 // per connection: 80 in all, few enough that the server's socket buffer does not overflow
)

// drive sends b.N queries over benchConns connections, keeping
// benchOutstanding in flight on each, and waits for every reply. A UDP
// query lost (the server's receive buffer overflowed) is replaced after
// 5 ms and counted in lost/op.
func drive(b *testing.B, proto, addr string, packets [][]byte) {
	conns := make([]net.Conn, benchConns)
	for i := range conns {
		c, err := net.Dial(proto, addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	per := b.N/benchConns + 1
	b.ResetTimer()
	var wg sync.WaitGroup
	errc := make(chan error, benchConns)
	lost := make([]int, benchConns)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if lost[i], err = pump(c, proto == "tcp", packets, i, per); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	total := 0
	for _, n := range lost {
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "lost/op")
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
}

// pump keeps benchOutstanding queries in flight on c until n replies came,
// and returns how many queries it had to replace.
func pump(c net.Conn, tcp bool, packets [][]byte, start, n int) (lost int, err error) {
	buf := make([]byte, 64*1024)
	next := start
	send := func() error {
		p := packets[next%len(packets)]
		next++
		if tcp {
			var l [2]byte
			binary.BigEndian.PutUint16(l[:], uint16(len(p)))
			_, err := c.Write(append(l[:], p...))
			return err
		}
		_, err := c.Write(p)
		return err
	}
	for range min(benchOutstanding, n) {
		if err := send(); err != nil {
			return lost, err
		}
	}
	wait := time.Second
	if !tcp {
		wait = 5 * time.Millisecond
	}
	for got := 0; got < n; {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		if err := readReply(c, tcp, buf); err != nil {
			var ne net.Error
			if !tcp && errors.As(err, &ne) && ne.Timeout() {
				lost++
				if err := send(); err != nil {
					return lost, err
				}
				continue
			}
			return lost, err
		}
		got++
		if got+benchOutstanding <= n {
			if err := send(); err != nil {
				return lost, err
			}
		}
	}
	return lost, nil
}

func readReply(c net.Conn, tcp bool, buf []byte) error {
	if !tcp {
		n, err := c.Read(buf)
		if err == nil && n < 12 {
			err = errors.New("short reply")
		}
		return err
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return err
	}
	_, err := io.ReadFull(c, buf[:binary.BigEndian.Uint16(buf[:2])])
	return err
}
