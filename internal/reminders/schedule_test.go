package reminders

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var base = time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC)

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Period
	}{
		{"", Period{Repeats: -1}},
		{"0s", Period{Repeats: -1}},
		{"5s", Period{Fixed: 5 * time.Second, Repeats: -1}},
		{"1h30m", Period{Fixed: 90 * time.Minute, Repeats: -1}},
		{"PT10S", Period{Fixed: 10 * time.Second, Repeats: -1}},
		{"R5/PT1S", Period{Fixed: time.Second, Repeats: 5}},
		{"P1M", Period{Months: 1, Repeats: -1}},
		{"P1Y2M3W4DT5H6M7S", Period{Years: 1, Months: 2, Days: 25,
			Fixed: 5*time.Hour + 6*time.Minute + 7*time.Second, Repeats: -1}},
		{"P2W", Period{Days: 14, Repeats: -1}},
		{"R3", Period{Repeats: 3}},
		{"R2/P1D", Period{Days: 1, Repeats: 2}},
	} {
		got, err := ParsePeriod(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestParsePeriodRejects(t *testing.T) {
	for in, want := range map[string]error{
		"R0/PT1S":           ErrZeroRepetitions,
		"R0":                ErrZeroRepetitions,
		"-1s":               ErrNegativePeriod,
		"PT0.5S":            ErrFormat,
		"P":                 ErrFormat,
		"PT1H2D":            ErrFormat,
		"P1S":               ErrFormat,
		"P1M1Y":             ErrFormat,
		"R/PT1S":            ErrFormat,
		"R5PT1S":            ErrFormat,
		"Rx/PT1S":           ErrFormat,
		"soon":              ErrFormat,
		"P1DT":              ErrFormat,
		"PT-1S":             ErrFormat,
		"R99999999999/PT1S": ErrFormat,
		"PT9999999999H":     ErrFormat,
	} {
		_, err := ParsePeriod(in)
		require.ErrorIs(t, err, want, in)
	}
}

func TestPeriodRepeating(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "0s": false, "R5": false, "1s": true, "R1/PT1S": true, "P1M": true,
	} {
		p, err := ParsePeriod(in)
		require.NoError(t, err)
		require.Equal(t, want, p.Repeating(), in)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"5s":                   base.Add(5 * time.Second),
		"-5s":                  base.Add(-5 * time.Second),
		"0h0m3s0ms":            base.Add(3 * time.Second),
		"500ms":                base.Add(500 * time.Millisecond),
		"PT2H30M":              base.Add(150 * time.Minute),
		"P1DT2H":               base.Add(26 * time.Hour),
		"P1M":                  time.Date(2024, 3, 2, 10, 0, 0, 0, time.UTC), // AddDate normalises
		"2024-10-02T15:00:00Z": time.Date(2024, 10, 2, 15, 0, 0, 0, time.UTC),
	} {
		got, err := ParseTime(in, base)
		require.NoError(t, err, in)
		require.True(t, want.Equal(got), "%s: want %s, got %s", in, want, got)
	}

	_, err := ParseTime("R5/PT1S", base)
	require.ErrorIs(t, err, ErrRepetitions)
	_, err = ParseTime("tomorrow", base)
	require.ErrorIs(t, err, ErrFormat)
	_, err = ParseTime("", base)
	require.ErrorIs(t, err, ErrFormat)
}

func TestNextCollapsesMissedPeriods(t *testing.T) {
	p := Period{Fixed: time.Second, Repeats: -1}

	// On time: the next boundary.
	require.Equal(t, base.Add(time.Second), p.Next(base, base.Add(10*time.Millisecond)))

	// 3.5 periods late: one fire now, then the first boundary after now.
	require.Equal(t, base.Add(4*time.Second), p.Next(base, base.Add(3500*time.Millisecond)))

	// Exactly on a boundary: the following one.
	require.Equal(t, base.Add(4*time.Second), p.Next(base, base.Add(3*time.Second)))

	monthly := Period{Months: 1, Repeats: -1}
	late := time.Date(2024, 6, 15, 0, 0, 0, 0, time.UTC)
	next := monthly.Next(base, late)
	require.True(t, next.After(late))
	require.True(t, next.Before(late.AddDate(0, 1, 1)), next)
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{"", "5s", "-1s", "R5/PT1S", "P1Y2M3W4DT5H6M7S", "R0",
		"2024-10-02T15:00:00Z", "PT", "P1DT", "R/", "PT0.5S", "R1/P1M"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err == nil && p.Repeating() {
			due := base
			next := p.Next(due, base.Add(time.Hour))
			if !next.After(due) {
				t.Fatalf("period %q: next %s is not after due %s", s, next, due)
			}
		}
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrZeroRepetitions) &&
			!errors.Is(err, ErrNegativePeriod) {
			t.Fatalf("period %q: unexpected error %v", s, err)
		}
		_, err = ParseTime(s, base)
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrRepetitions) {
			t.Fatalf("time %q: unexpected error %v", s, err)
		}
	})
}
