// Package health runs HTTP, TCP and TTL checks and records their results in the store.
package health
