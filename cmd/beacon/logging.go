package main

import (
	"io"
	"log/slog"
)

// newLogger writes text logs at level and above to w (stderr).
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
