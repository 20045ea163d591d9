package testkit

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
)

// CleanEnv is this process's environment without BEACON_* and CONSUL_*
// variables, followed by extra: beacon serve reads BEACON_* as flags and
// its client commands read CONSUL_* too, so a setting left in the caller's
// shell would otherwise change what a test or a measurement sees.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BEACON_") && !strings.HasPrefix(kv, "CONSUL_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// FreePort returns a port on 127.0.0.1 that is free for both UDP and TCP
// at the moment of asking. Use it only where port 0 cannot be: for a
// program that cannot report the port it bound, or an address that must
// be known before the program starts. Another process may take the port
// before it is bound again.
func FreePort() (int, error) {
	for range 50 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		tl.Close()
		if err != nil {
			continue
		}
		ul.Close()
		return port, nil
	}
	return 0, errors.New("no port on 127.0.0.1 is free for both UDP and TCP")
}
