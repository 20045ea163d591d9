package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// record is how an instance is kept on disk. It is its own type so that
// the disk format changes only on purpose.
type record struct {
	ID      string
	Name    string
	Address string
	// NoAddress: Address is the advertise address, as the registration
	// gave none. Records written before it existed read as false, so
	// their address shows as given.
	NoAddress         bool `json:",omitempty"`
	Port              int
	Tags              []string          `json:",omitempty"`
	Meta              map[string]string `json:",omitempty"`
	Weights           Weights
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	EnableTagOverride bool                      `json:",omitempty"`
	Locality          *Locality                 `json:",omitempty"`
	Checks            []checkRecord             `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}

type checkRecord struct {
	ID                             string
	Name                           string
	Notes                          string `json:",omitempty"`
	Kind                           Kind
	HTTP                           string              `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TTL                            time.Duration       `json:",omitempty"`
	Interval                       time.Duration       `json:",omitempty"`
	Timeout                        time.Duration       `json:",omitempty"`
	SuccessBeforePassing           int                 `json:",omitempty"`
	FailuresBeforeCritical         int                 `json:",omitempty"`
	DeregisterCriticalServiceAfter time.Duration       `json:",omitempty"`
	Status                         Status
	Output                         string `json:",omitempty"`
	StatusSince                    time.Time
	CreateIndex                    uint64
	ModifyIndex                    uint64
}

func encodeInstance(in *Instance) ([]byte, error) {
	r := record{ID: in.ID, Name: in.Name, Address: in.Address, NoAddress: in.NoAddress, Port: in.Port, Tags: in.Tags,
		Meta: in.Meta, Weights: in.Weights, TaggedAddresses: in.TaggedAddresses,
		EnableTagOverride: in.EnableTagOverride, Locality: in.Locality,
		CreateIndex: in.CreateIndex, ModifyIndex: in.ModifyIndex}
	for _, c := range in.Checks {
		r.Checks = append(r.Checks, checkRecord{
			ID: c.ID, Name: c.Name, Notes: c.Notes, Kind: c.Kind, HTTP: c.HTTP, Method: c.Method,
			Header: c.Header, Body: c.Body, TLSSkipVerify: c.TLSSkipVerify, TCP: c.TCP, TTL: c.TTL,
			Interval: c.Interval, Timeout: c.Timeout, SuccessBeforePassing: c.SuccessBeforePassing,
			FailuresBeforeCritical:         c.FailuresBeforeCritical,
			DeregisterCriticalServiceAfter: c.DeregisterCriticalServiceAfter,
			Status:                         c.Status, Output: c.Output, StatusSince: c.StatusSince,
			CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
		})
	}
	return json.Marshal(r)
}

// decodeInstance reads a record back. now becomes the heartbeat of TTL
// checks, which start with a full TTL.
func decodeInstance(b []byte, now time.Time) (*Instance, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	addr, err := ParseAddress(r.Address)
	if err != nil {
		return nil, err
	}
	if err := ValidName(r.Name); err != nil {
		return nil, err
	}
	in := &Instance{ID: r.ID, Name: r.Name, Address: r.Address, NoAddress: r.NoAddress, Addr: addr, Port: r.Port,
		Tags: r.Tags, Meta: r.Meta, Weights: r.Weights, TaggedAddresses: r.TaggedAddresses,
		EnableTagOverride: r.EnableTagOverride, Locality: r.Locality,
		CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex}
	for _, c := range r.Checks {
		if !c.Status.Valid() {
			return nil, fmt.Errorf("check %q has status %q", c.ID, c.Status)
		}
		in.Checks = append(in.Checks, &Check{
			ID: c.ID, Name: c.Name, Notes: c.Notes, ServiceID: r.ID, Kind: c.Kind, HTTP: c.HTTP,
			Method: c.Method, Header: c.Header, Body: c.Body, TLSSkipVerify: c.TLSSkipVerify,
			TCP: c.TCP, TTL: c.TTL, Interval: c.Interval, Timeout: c.Timeout,
			SuccessBeforePassing:           c.SuccessBeforePassing,
			FailuresBeforeCritical:         c.FailuresBeforeCritical,
			DeregisterCriticalServiceAfter: c.DeregisterCriticalServiceAfter,
			Status:                         c.Status, Output: c.Output, StatusSince: c.StatusSince,
			Heartbeat: now, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
		})
	}
	sortChecks(in.Checks)
	in.Health = worstOf(in.Checks)
	return in, nil
}
