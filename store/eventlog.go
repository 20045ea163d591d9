package store

import (
	"context"
	"log/slog"
)

// logOutputLen bounds the check output a log line carries; the history
// keeps more.
const logOutputLen = 512

// logChanges logs at info what operators follow a registry by:
// registrations, deregistrations, maintenance and health transitions,
// once they are published. Heartbeats that change nothing log nothing.
func (s *Store) logChanges(events []Event, history []histEntry) {
	log := s.opts.Logger
	ctx := context.Background()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	for _, ev := range events {
		old, in := ev.Old, ev.New
		switch {
		case old == nil && in != nil:
			log.Info("instance registered", instanceAttrs(in, "health", string(in.Health))...)
		case old != nil && in == nil:
			log.Info("instance deregistered", instanceAttrs(old, "health", string(old.Health))...)
		case old != nil && in != nil:
			was, is := old.Maintenance(), in.Maintenance()
			switch {
			case was == nil && is != nil:
				log.Info("maintenance enabled", instanceAttrs(in, "reason", is.Notes)...)
			case was != nil && is == nil:
				log.Info("maintenance disabled", instanceAttrs(in)...)
			case was != nil && is != nil && was.Notes != is.Notes:
				log.Info("maintenance reason changed", instanceAttrs(in, "reason", is.Notes)...)
			case old.ModifyIndex != in.ModifyIndex:
				log.Info("instance updated", instanceAttrs(in)...)
			}
		}
	}
	if len(history) == 0 {
		return
	}
	snap := s.snap.Load()
	for _, h := range history {
		in := snap.Instance(h.id)
		if in == nil {
			// Removed again in the same batch: the deregistration says so.
			continue
		}
		log.Info("health changed", instanceAttrs(in, "from", string(h.tr.From), "to", string(h.tr.To),
			"check", h.tr.CheckID, "output", clip(h.tr.Output, logOutputLen))...)
	}
}

// instanceAttrs are the attributes every line about an instance has,
// followed by more.
func instanceAttrs(in *Instance, more ...any) []any {
	return append([]any{"service", in.Name, "id", in.ID, "address", in.Address, "port", in.Port}, more...)
}
