// Package etcdtest starts real etcd members on loopback for beacon's
// tests: one process per member, data in the test's temp dir, stopped by
// PID at cleanup.
package etcdtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Binary returns the etcd server to run: $BEACON_TEST_ETCD, else etcd on
// PATH, else /usr/bin/etcd. Without one the test is skipped, or fails
// when CI=true, where .ci/run installs it.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BEACON_TEST_ETCD"); p != "" {
		return p
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("etcd is not installed; .ci/run installs the etcd-server package")
	}
	t.Skip("etcd is not installed (apt-get install etcd-server)")
	return ""
}

// Member is one etcd process.
type Member struct {
	Name   string
	Client string // host:port
	Peer   string // host:port
	Dir    string
	args   []string
	bin    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Cluster is a running etcd cluster.
type Cluster struct {
	Members []*Member
	// TLS is what clients need to reach a cluster started with TLS.
	TLS *tls.Config
}

// TLSFiles make a cluster serve clients over TLS and require client
// certificates signed by CA.
type TLSFiles struct {
	Cert, Key, CA string
	// Client is the configuration of a client holding a certificate
	// signed by CA; the tests' own clients use it.
	Client *tls.Config
}

// Endpoints are the members' client addresses.
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Client
	}
	return out
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Start runs an n-member cluster and waits until it answers. extra are
// flags given to every member. Cleanup kills the members by PID.
func Start(t testing.TB, n int, extra ...string) *Cluster {
	t.Helper()
	return StartTLS(t, n, nil, extra...)
}

// StartTLS is Start with clients served over TLS when files is not nil.
func StartTLS(t testing.TB, n int, files *TLSFiles, extra ...string) *Cluster {
	t.Helper()
	bin := Binary(t)
	c := &Cluster{}
	scheme := "http://"
	if files != nil {
		scheme = "https://"
		c.TLS = files.Client
		extra = append([]string{"--cert-file", files.Cert, "--key-file", files.Key,
			"--trusted-ca-file", files.CA, "--client-cert-auth"}, extra...)
	}
	var initial []string
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i), Client: freePort(t), Peer: freePort(t), Dir: t.TempDir(), bin: bin}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"=http://"+m.Peer)
	}
	for _, m := range c.Members {
		m.args = append([]string{
			"--name", m.Name, "--data-dir", filepath.Join(m.Dir, "data"),
			"--listen-client-urls", scheme + m.Client, "--advertise-client-urls", scheme + m.Client,
			"--listen-peer-urls", "http://" + m.Peer, "--initial-advertise-peer-urls", "http://" + m.Peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "beacon-test",
			// Loopback round trips are far below a millisecond; fast
			// elections keep failover tests short.
			"--heartbeat-interval", "50", "--election-timeout", "500",
			"--logger", "zap", "--log-outputs", filepath.Join(m.Dir, "etcd.log"), "--log-level", "warn",
		}, extra...)
		m.start(t)
	}
	t.Cleanup(func() {
		for _, m := range c.Members {
			m.Kill(t)
		}
	})
	c.WaitReady(t, 20*time.Second)
	return c
}

func (m *Member) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(m.bin, m.args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatalf("start etcd %s: %v", m.Name, err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(m.exited)
	}()
}

// Kill sends SIGKILL (after SIGCONT, in case it was stopped) and waits
// for the process to exit.
func (m *Member) Kill(t testing.TB) {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	_ = m.cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("etcd %s (pid %d) did not exit after SIGKILL", m.Name, m.cmd.Process.Pid)
	}
	m.cmd = nil
}

// Restart starts a killed member again on its data.
func (m *Member) Restart(t testing.TB) {
	t.Helper()
	m.args = append(slicesWithout(m.args, "--initial-cluster-state", "new"), "--initial-cluster-state", "existing")
	m.start(t)
}

func slicesWithout(args []string, flag, value string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag && i+1 < len(args) && args[i+1] == value {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// Signal sends sig (SIGSTOP, SIGCONT) to the member.
func (m *Member) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := m.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to etcd %s: %v", sig, m.Name, err)
	}
}

// Client returns a client of the whole cluster, closed at cleanup.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, TLS: c.TLS,
		DialKeepAliveTime: 2 * time.Second, DialKeepAliveTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// WaitReady waits until a write through every running member succeeds.
func (c *Cluster) WaitReady(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, m := range c.Members {
		if m.cmd == nil {
			continue
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.Client}, DialTimeout: time.Second, TLS: c.TLS})
		if err != nil {
			t.Fatal(err)
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := cli.Put(ctx, "/etcdtest/ready", m.Name)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				cli.Close()
				t.Fatalf("etcd %s at %s not ready within %s: %v (log in %s)", m.Name, m.Client, within, err, m.Dir)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cli.Close()
	}
}

// Leader returns the member that leads the cluster now.
func (c *Cluster) Leader(t testing.TB) *Member {
	t.Helper()
	cli := c.Client(t)
	for _, m := range c.Members {
		if m.cmd == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := cli.Status(ctx, m.Client)
		cancel()
		if err == nil && st.Leader == st.Header.MemberId {
			return m
		}
	}
	t.Fatal("no etcd member is the leader")
	return nil
}
