package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// On etcd, each instance's history is one key, <prefix>-history/<ID>,
// holding its last HistoryLen transitions as a JSON array, oldest first.
// It lies outside the registry's prefix, so that no node lists or
// watches it: a history is read from etcd when it is asked for, from
// whichever node. It is written in the transaction that writes the
// status change it records, guarded by the revision it was read at. On
// deregistration the key is given a lease of HistoryGoneAge, after which
// etcd removes it; registering the ID again takes the lease off.
func (e *etcdStore) historyKey(id string) string { return e.opts.Prefix + "-history/" + id }

// planHistory adds to p the writes of t's health transitions and the
// leases of the histories of instances t removed.
func (e *etcdStore) planHistory(ctx context.Context, p *etcdPlan, t *txn) error {
	byID := map[string][]histEntry{}
	var ids []string
	for _, h := range t.history {
		if byID[h.id] == nil {
			ids = append(ids, h.id)
		}
		byID[h.id] = append(byID[h.id], h)
	}
	gone := map[string]bool{}
	for _, ev := range t.events {
		if ev.New == nil && t.instance(ev.ID) == nil && !gone[ev.ID] {
			gone[ev.ID] = true
			if byID[ev.ID] == nil {
				ids = append(ids, ev.ID)
			}
		}
	}
	for _, id := range ids {
		key := e.historyKey(id)
		list, mod, err := e.readHistory(ctx, key)
		if err != nil {
			return err
		}
		for _, h := range byID[id] {
			list = append(list, historyRecord(h.tr))
		}
		if len(list) == 0 {
			continue
		}
		if len(list) > HistoryLen {
			list = list[len(list)-HistoryLen:]
		}
		v, err := json.Marshal(list)
		if err != nil {
			return err
		}
		var opts []clientv3.OpOption
		if gone[id] {
			lease, err := e.cli.Grant(ctx, int64(HistoryGoneAge.Seconds()))
			if err != nil {
				return e.unavailable("keep the history of "+id, err)
			}
			opts = append(opts, clientv3.WithLease(lease.ID))
		}
		p.guard(key, mod)
		p.ops = append(p.ops, clientv3.OpPut(key, string(v), opts...))
	}
	return nil
}

// readHistory returns the transitions a history key holds and its
// ModRevision, 0 when it does not exist.
func (e *etcdStore) readHistory(ctx context.Context, key string) ([]historyRecord, int64, error) {
	resp, err := e.cli.Get(ctx, key)
	if err != nil {
		return nil, 0, e.unavailable("read "+key, err)
	}
	e.touch()
	if len(resp.Kvs) == 0 {
		return nil, 0, nil
	}
	var list []historyRecord
	if err := json.Unmarshal(resp.Kvs[0].Value, &list); err != nil {
		return nil, 0, fmt.Errorf("%w: history %s: %v", ErrCorrupt, key, err)
	}
	return list, resp.Kvs[0].ModRevision, nil
}

// history reads an instance's history from etcd, newest first.
func (e *etcdStore) history(id string) ([]Transition, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
	defer cancel()
	list, _, err := e.readHistory(ctx, e.historyKey(id))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 && e.s.Snapshot().Instance(id) == nil {
		return nil, notFound("service", id)
	}
	out := make([]Transition, 0, len(list))
	for _, r := range slices.Backward(list) {
		out = append(out, Transition(r))
	}
	return out, nil
}
