package artifact

import (
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The original service concatenated artifact id and user id, so these two pairs shared
// one entity.
func TestActorIDSeparatesPairsThatConcatenateAlike(t *testing.T) {
	a := Entity{ArtifactID: 1, UserID: "23"}.ActorID()
	b := Entity{ArtifactID: 12, UserID: "3"}.ActorID()

	assert.Equal(t, "1_23", a)
	assert.Equal(t, "12_3", b)
	assert.NotEqual(t, a, b)
}

func TestActorIDRoundTrip(t *testing.T) {
	tests := []struct {
		entity Entity
		id     string
	}{
		{Entity{42, "smith"}, "42_smith"},
		{Entity{0, "a b"}, "0_a~20b"},
		{Entity{7, "a/b"}, "7_a~2Fb"},
		{Entity{7, "x_y-z.w"}, "7_x_y-z.w"},
		{Entity{7, "~"}, "7_~7E"},
		{Entity{7, "%2F"}, "7_~252F"},
		{Entity{7, "é"}, "7_~C3~A9"},
		{Entity{7, "\x00\xff"}, "7_~00~FF"},
		{Entity{math.MaxInt64, "u"}, "9223372036854775807_u"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			assert.Equal(t, tt.id, tt.entity.ActorID())

			parsed, err := ParseActorID(tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.entity, parsed)
		})
	}
}

func TestParseActorIDRejectsNonCanonicalIDs(t *testing.T) {
	tests := []struct {
		id, want string
	}{
		{"", "separator"},
		{"smith", "separator"},
		{"_smith", "not a canonical non-negative integer"},
		{"042_smith", "not a canonical non-negative integer"},
		{"-1_smith", "not a canonical non-negative integer"},
		{"+1_smith", "not a canonical non-negative integer"},
		{"99999999999999999999_smith", "out of range"},
		{"1_", "userId must not be empty"},
		{"1_a b", "must be escaped"},
		{"1_a%2Fb", "must be escaped"},
		{"1_~2f", "invalid escape"},
		{"1_~41", "invalid escape"},
		{"1_~2", "truncated escape"},
		{"1_" + strings.Repeat("a", MaxUserIDLen+1), "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			_, err := ParseActorID(tt.id)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// FuzzActorID checks that ActorID is injective (ParseActorID inverts it) and that ids
// need no escaping in a URL path.
func FuzzActorID(f *testing.F) {
	f.Add(int64(1), "23")
	f.Add(int64(12), "3")
	f.Add(int64(0), "a/b%2F~_")
	f.Fuzz(func(t *testing.T, artifactID int64, userID string) {
		e := Entity{ArtifactID: artifactID, UserID: userID}
		if e.Validate() != nil {
			return
		}

		id := e.ActorID()
		if url.PathEscape(id) != id || strings.ContainsAny(id, "/%") {
			t.Fatalf("actor id %q needs escaping in a URL path", id)
		}
		parsed, err := ParseActorID(id)
		if err != nil {
			t.Fatalf("ParseActorID(%q): %v", id, err)
		}
		if parsed != e {
			t.Fatalf("ParseActorID(%q) = %+v, want %+v", id, parsed, e)
		}
	})
}

func BenchmarkActorID(b *testing.B) {
	e := Entity{ArtifactID: 123456, UserID: "user-4711"}
	for b.Loop() {
		_ = e.ActorID()
	}
}
