package reminders

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors of the schedule parsers, wrapped with the offending value.
var (
	// ErrFormat means a value is in none of the accepted formats.
	ErrFormat = errors.New("reminders: unsupported time or duration format")

	// ErrRepetitions means a due time or TTL carried "Rn/" repetitions.
	ErrRepetitions = errors.New("reminders: repetitions are not allowed")

	// ErrZeroRepetitions means a period of "R0/...".
	ErrZeroRepetitions = errors.New("reminders: has zero repetitions")

	// ErrNegativePeriod means a period below zero; daprd would loop on it.
	ErrNegativePeriod = errors.New("reminders: period is negative")
)

// maxRepetitions bounds n in "Rn/": more than a reminder could ever fire.
const maxRepetitions = 1<<31 - 1

// Period is a parsed period (contract §1.6): a calendar part added with AddDate, a
// fixed part, and the number of fires. The zero Period never repeats.
type Period struct {
	Years, Months, Days int
	Fixed               time.Duration

	// Repeats is the number of fires, -1 for no limit. It only matters when the period
	// is not zero.
	Repeats int
}

// Repeating reports whether the schedule fires more than once.
func (p Period) Repeating() bool {
	return p.Repeats != 0 && (p.Years != 0 || p.Months != 0 || p.Days != 0 || p.Fixed != 0)
}

// add returns t plus one period.
func (p Period) add(t time.Time) time.Time {
	if p.Years != 0 || p.Months != 0 || p.Days != 0 {
		t = t.AddDate(p.Years, p.Months, p.Days)
	}
	return t.Add(p.Fixed)
}

// maxCalendarSteps bounds the walk over calendar periods in Next; beyond it the walk
// jumps, since a reminder missing thousands of calendar periods is already far behind.
const maxCalendarSteps = 10000

// Next returns when a repeating schedule fires after the fire for scheduled time due,
// delivered at now. Missed periods collapse into that fire: the result is the first
// period boundary after now (and after due), never a backlog of past boundaries. This is
// troupe's deliberate difference from daprd, which replays every missed period.
func (p Period) Next(due, now time.Time) time.Time {
	next := p.add(due)
	if next.After(now) || !next.After(due) {
		return next
	}
	if p.Years == 0 && p.Months == 0 && p.Days == 0 {
		missed := now.Sub(due) / p.Fixed
		return due.Add((missed + 1) * p.Fixed)
	}
	for range maxCalendarSteps {
		if next.After(now) {
			return next
		}
		next = p.add(next)
	}
	return p.add(now)
}

// ParsePeriod parses a period: an ISO-8601 duration with optional repetitions
// ("R5/PT1S", "PT10S", "P1M", "R3"), or a Go duration ("1m30s"). "" means no repeat.
func ParsePeriod(s string) (Period, error) {
	if s == "" {
		return Period{Repeats: -1}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return Period{}, fmt.Errorf("%w: %q", ErrNegativePeriod, s)
		}
		return Period{Fixed: d, Repeats: -1}, nil
	}

	p, err := parseISO(s)
	if err != nil {
		return Period{}, err
	}
	if p.Repeats == 0 {
		return Period{}, fmt.Errorf("%w: %q", ErrZeroRepetitions, s)
	}
	return p, nil
}

// ParseTime parses a due time or TTL relative to base: an ISO-8601 duration without
// repetitions, a Go duration (negative allowed) or an RFC 3339 time.
func ParseTime(s string, base time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return base.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}

	p, err := parseISO(s)
	if err != nil {
		return time.Time{}, err
	}
	if p.Repeats != -1 {
		return time.Time{}, fmt.Errorf("%w: %q", ErrRepetitions, s)
	}
	return p.add(base), nil
}

// parseISO parses "[Rn/]P[nY][nM][nW][nD][T[nH][nM][nS]]" with integer parts in that
// order, or a bare "Rn" (repetitions of an empty period).
func parseISO(s string) (Period, error) {
	p := Period{Repeats: -1}
	rest := s
	if len(rest) > 0 && rest[0] == 'R' {
		n, after, err := parseRepetitions(rest[1:])
		if err != nil {
			return Period{}, fmt.Errorf("%w: %q: %v", ErrFormat, s, err)
		}
		p.Repeats, rest = n, after
		if rest == "" {
			return p, nil
		}
	}

	if len(rest) < 2 || rest[0] != 'P' {
		return Period{}, fmt.Errorf("%w: %q", ErrFormat, s)
	}
	if err := p.parseParts(rest[1:]); err != nil {
		return Period{}, fmt.Errorf("%w: %q: %v", ErrFormat, s, err)
	}
	return p, nil
}

// parseRepetitions reads "n" or "n/..." after the R.
func parseRepetitions(s string) (n int, rest string, err error) {
	digits := leadingDigits(s)
	if digits == 0 {
		return 0, "", errors.New("no repetition count after R")
	}
	n, err = strconv.Atoi(s[:digits])
	if err != nil || n > maxRepetitions {
		return 0, "", fmt.Errorf("repetition count %q is out of range", s[:digits])
	}
	switch {
	case digits == len(s):
		return n, "", nil
	case s[digits] == '/':
		return n, s[digits+1:], nil
	}
	return 0, "", errors.New("repetitions must be followed by '/'")
}

// isoUnits are the designators of the date part, then the time part, in order.
const (
	dateUnits = "YMWD"
	timeUnits = "HMS"
)

// parseParts reads the designators after the P.
func (p *Period) parseParts(s string) error {
	date, clock, hasTime := strings.Cut(s, "T")
	if hasTime && clock == "" {
		return errors.New("'T' with no time parts")
	}
	if err := p.parseUnits(date, dateUnits); err != nil {
		return err
	}
	return p.parseUnits(clock, timeUnits)
}

func (p *Period) parseUnits(s, units string) error {
	next := 0
	for s != "" {
		digits := leadingDigits(s)
		if digits == 0 || digits == len(s) {
			return fmt.Errorf("expected a number and a designator at %q", s)
		}
		n, err := strconv.Atoi(s[:digits])
		if err != nil || n > 1<<30 {
			return fmt.Errorf("number %q is out of range", s[:digits])
		}
		unit := s[digits]
		i := strings.IndexByte(units[next:], unit)
		if i < 0 {
			return fmt.Errorf("unexpected designator %q", unit)
		}
		next += i + 1
		if err := p.addUnit(units, unit, n); err != nil {
			return err
		}
		s = s[digits+1:]
	}
	return nil
}

// addUnit adds n of unit to p, failing when the fixed part would overflow.
func (p *Period) addUnit(units string, unit byte, n int) error {
	if units == dateUnits {
		switch unit {
		case 'Y':
			p.Years += n
		case 'M':
			p.Months += n
		case 'W':
			p.Days += 7 * n
		case 'D':
			p.Days += n
		}
		return nil
	}

	size := time.Second
	switch unit {
	case 'H':
		size = time.Hour
	case 'M':
		size = time.Minute
	}
	if time.Duration(n) > (1<<63-1-p.Fixed)/size {
		return fmt.Errorf("duration of %d%c is too long", n, unit)
	}
	p.Fixed += time.Duration(n) * size
	return nil
}

func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
