package admin

// staler is what a store kept in etcd adds to Store: whether this node
// has lost touch with etcd, so that its answers may be behind.
type staler interface{ Stale() bool }

// knownLeader is X-Consul-KnownLeader: false while the store is stale,
// as Consul says when a server has no leader to confirm its data with.
func (a *API) knownLeader() string {
	if s, ok := a.st.(staler); ok && s.Stale() {
		return "false"
	}
	return "true"
}
