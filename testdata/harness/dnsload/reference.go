package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// referenceCommand is the hidden first argument that makes this binary run
// the reference server in its own process.
const referenceCommand = "serve-reference"

// cannedAnswer is one precomputed answer: the packed reply beacon gave to
// the question, replayed byte for byte with the ID and question case patched.
type cannedAnswer struct {
	Name string // lower-case, fully qualified
	Type uint16
	Wire []byte
}

// answerKey finds a canned answer for a question.
type answerKey struct {
	name  string
	qtype uint16
}

// replayHandler answers from canned answers only: the least work any
// miekg/dns handler can do, so its rate is the ceiling of a miekg/dns
// server on this machine. miekg/dns has already parsed the request.
type replayHandler struct {
	answers map[answerKey][]byte
	bufs    sync.Pool // of *[]byte
}

func newReplayHandler(canned []cannedAnswer) *replayHandler {
	h := &replayHandler{answers: make(map[answerKey][]byte, len(canned))}
	for _, c := range canned {
		h.answers[answerKey{dns.CanonicalName(c.Name), c.Type}] = c.Wire
	}
	h.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	return h
}

// ServeDNS copies the canned answer, patches the ID and echoes the case of
// the question name, as a cache hit in a real server must.
func (h *replayHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		dns.HandleFailed(w, req)
		return
	}
	q := req.Question[0]
	wire, ok := h.answers[answerKey{strings.ToLower(q.Name), q.Qtype}]
	if !ok {
		dns.HandleFailed(w, req)
		return
	}
	bp := h.bufs.Get().(*[]byte)
	buf := append((*bp)[:0], wire...)
	buf[0], buf[1] = byte(req.Id>>8), byte(req.Id)
	patchQuestionCase(buf, q.Name)
	_, _ = w.Write(buf)
	*bp = buf
	h.bufs.Put(bp)
}

// patchQuestionCase copies the letters of name (presentation form, no
// escapes) over the question name that starts at offset 12 of msg. In wire
// form each character of the name sits one byte after its position in the
// string, and each dot sits where a length byte is.
func patchQuestionCase(msg []byte, name string) {
	for i := 0; i < len(name) && 13+i < len(msg); i++ {
		if c := name[i]; c != '.' {
			msg[13+i] = c
		}
	}
}

// runReference is the reference server process: it loads canned answers
// from a JSON file and serves them on UDP and TCP until SIGTERM/SIGINT.
func runReference(args []string) int {
	fs := flag.NewFlagSet(referenceCommand, flag.ContinueOnError)
	addr := fs.String("listen", "127.0.0.1:0", "UDP and TCP listen address")
	file := fs.String("answers", "", "JSON file of canned answers")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serveReference(*addr, *file); err != nil {
		fmt.Fprintln(os.Stderr, "dnsload reference:", err)
		return 1
	}
	return 0
}

// referenceReadBuffer is the reference's UDP receive buffer. dnsperf keeps
// 200 queries in flight; the kernel's default buffer (212992 bytes) holds
// little more than that, and when the server is descheduled for a moment
// the burst overflows it and dnsperf waits out its 5 s timeout for every
// query lost. A ceiling should not stall on that, so the reference asks
// for 1 MiB, as NSD does by default (receive-buffer-size).
const referenceReadBuffer = 1 << 20

// listenReference binds UDP and TCP on addr, with the larger UDP buffer.
func listenReference(addr string) (net.PacketConn, net.Listener, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, nil, err
	}
	if err := pc.(*net.UDPConn).SetReadBuffer(referenceReadBuffer); err != nil {
		pc.Close()
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return nil, nil, err
	}
	return pc, ln, nil
}

// referenceServers are miekg/dns servers with the library's defaults,
// except that a TCP connection may carry any number of queries (the
// default closes it after 128), as pipelining needs.
func referenceServers(pc net.PacketConn, ln net.Listener, h dns.Handler) []*dns.Server {
	return []*dns.Server{
		{PacketConn: pc, Handler: h, UDPSize: 4096},
		{Listener: ln, Handler: h, MaxTCPQueries: -1},
	}
}

func serveReference(addr, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var canned []cannedAnswer
	if err := json.Unmarshal(data, &canned); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	pc, ln, err := listenReference(addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	servers := referenceServers(pc, ln, newReplayHandler(canned))
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- s.ActivateAndServe() }()
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.ShutdownContext(sctx)
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
