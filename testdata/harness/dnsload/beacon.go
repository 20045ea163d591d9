package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// beaconPackage is what is built when -beacon is not given.
const beaconPackage = "github.com/beacon-dns/beacon/cmd/beacon"

// dnsloadPackage is this program, built again when -perf needs symbols.
const dnsloadPackage = "github.com/beacon-dns/beacon/testdata/harness/dnsload"

// startBeacon runs `beacon serve` pinned to cpu at niceness nice on a
// fresh data dir and waits until its HTTP API answers.
func startBeacon(ctx context.Context, p *procs, bin, workDir string, cpu, nice int, dnsAddr, httpAddr string) (*child, error) {
	dataDir := filepath.Join(workDir, "beacon-data")
	c, err := p.start("beacon", cpu, nice, workDir, testkit.CleanEnv(), bin, "serve",
		"-data-dir", dataDir, "-dns-addr", dnsAddr, "-http-addr", httpAddr, "-log-level", "warn")
	if err != nil {
		return nil, err
	}
	url := "http://" + httpAddr + "/v1/status/leader"
	err = poll(ctx, 20*time.Second, c, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("beacon did not start: %w\n%s", err, c.logTail())
	}
	return c, nil
}

// registration is the Consul agent service registration body beacon takes.
type registration struct {
	ID      string
	Name    string
	Address string
	Port    int
}

// registerAll registers every instance of ds through the HTTP API, a few at
// a time so that beacon's group commit has something to coalesce. Without
// checks every instance is passing.
func registerAll(ctx context.Context, httpAddr string, ds *dataset) error {
	url := "http://" + httpAddr + "/v1/agent/service/register"
	jobs := make(chan instance)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for in := range jobs {
				if err := register(ctx, client, url, in); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		}()
	}
	for _, s := range ds.Services {
		for _, in := range s.Instances {
			select {
			case jobs <- in:
			case err := <-errc:
				close(jobs)
				wg.Wait()
				return err
			}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func register(ctx context.Context, client *http.Client, url string, in instance) error {
	body, err := json.Marshal(registration{ID: in.ID, Name: in.Name, Address: in.Addr.String(), Port: int(in.Port)})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("register %s: %w", in.ID, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register %s: %s: %s", in.ID, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// poll calls try every 50 ms until it succeeds, the limit passes, ctx ends
// or the child (if any) exits, and returns the last error.
func poll(ctx context.Context, limit time.Duration, c *child, try func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := try()
		if err == nil {
			return nil
		}
		if c != nil {
			if done, werr := c.exited(); done {
				return fmt.Errorf("%s exited (%v)", c.name, werr)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %v: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
