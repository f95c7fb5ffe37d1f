package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMembershipApply(t *testing.T) {
	a := Member{Name: "a:1", AppID: "app", Entities: []string{"T"}}
	a2 := Member{Name: "a:1", AppID: "app", Entities: []string{"T", "U"}}
	b := Member{Name: "b:1", AppID: "app"}

	tests := []struct {
		name        string
		commands    []Command
		wantChanged []bool
		wantMembers []Member
		wantPending bool
	}{
		{
			name:        "join adds",
			commands:    []Command{Join{a}, Join{b}},
			wantChanged: []bool{true, true},
			wantMembers: []Member{a, b},
			wantPending: true,
		},
		{
			name:        "same join twice changes nothing",
			commands:    []Command{Join{a}, Join{a}},
			wantChanged: []bool{true, false},
			wantMembers: []Member{a},
			wantPending: true,
		},
		{
			name:        "join with other entities updates",
			commands:    []Command{Join{a}, Join{a2}},
			wantChanged: []bool{true, true},
			wantMembers: []Member{a2},
			wantPending: true,
		},
		{
			name:        "leave and expire remove; unknown names are ignored",
			commands:    []Command{Join{a}, Join{b}, Leave{"a:1"}, Expire{"b:1"}, Leave{"x:1"}},
			wantChanged: []bool{true, true, true, true, false},
			wantMembers: []Member{},
		},
		{
			name: "commit of the current members leaves nothing pending",
			commands: []Command{Join{b}, Join{a},
				CommitTable{Table{Version: 1, Members: []Member{a, b}}}},
			wantChanged: []bool{true, true, false},
			wantMembers: []Member{a, b},
		},
		{
			name: "a change after commit is pending",
			commands: []Command{Join{a}, CommitTable{Table{Version: 1, Members: []Member{a}}},
				Join{a2}},
			wantChanged: []bool{true, false, true},
			wantMembers: []Member{a2},
			wantPending: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMembership()
			for i, c := range tt.commands {
				changed, err := m.Apply(c)
				require.NoError(t, err)
				require.Equal(t, tt.wantChanged[i], changed, "command %d (%T)", i, c)
			}
			require.Equal(t, tt.wantMembers, m.Members())
			require.Equal(t, tt.wantPending, m.Pending())
		})
	}
}

func TestMembershipCommitVersionsGrow(t *testing.T) {
	m := NewMembership()
	_, err := m.Apply(CommitTable{Table{Version: 3}})
	require.NoError(t, err)

	_, err = m.Apply(CommitTable{Table{Version: 3}})
	require.ErrorContains(t, err, "does not advance")
	require.Equal(t, uint64(3), m.Committed().Version)
}

func TestTableContains(t *testing.T) {
	tab := Table{Members: []Member{{Name: "a:1"}, {Name: "c:1"}}}
	require.True(t, tab.Contains("a:1"))
	require.True(t, tab.Contains("c:1"))
	require.False(t, tab.Contains("b:1"))
}
