package main

import (
	"errors"
	"strconv"
	"strings"
)

// byteSize is a flag of bytes: 1048576, 1024KiB, 8MiB or 1.5GiB.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	unit := 1.0
	for suffix, u := range map[string]float64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			s, unit = n, u
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f*unit > 1<<40 {
		return errors.New("want bytes, such as 1048576, 1024KiB, 8MiB or 1.5GiB")
	}
	*b = byteSize(f * unit)
	return nil
}
