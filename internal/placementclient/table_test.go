package placementclient

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	pb "github.com/troupe-dev/troupe/internal/placementpb"
)

func TestTableOwner(t *testing.T) {
	tab := NewTable(7, []Member{
		{Name: "c:1", AppID: "app", Entities: []string{"T"}},
		{Name: "a:1", AppID: "app", Entities: []string{"T", "U"}},
		{Name: "b:1", AppID: "other"},
	})
	require.Equal(t, uint64(7), tab.Version())
	require.Equal(t, []string{"a:1", "c:1"}, tab.Hosts("T"))
	require.Equal(t, []string{"a:1"}, tab.Hosts("U"))
	require.Nil(t, tab.Hosts("V"))

	owners := map[string]int{}
	for i := range 1000 {
		host, ok := tab.Owner("T", strconv.Itoa(i))
		require.True(t, ok)
		owners[host]++
		host, _ = tab.Owner("U", strconv.Itoa(i))
		require.Equal(t, "a:1", host)
	}
	require.Len(t, owners, 2, "both hosts of T own actors")

	_, ok := tab.Owner("V", "1")
	require.False(t, ok, "no host for an unhosted type")
}

func TestTableMembership(t *testing.T) {
	tab := tableFromProto(&pb.Table{Version: 3, Members: []*pb.Member{
		{Name: "b:1", AppId: "app", Entities: []string{"T"}},
		{Name: "a:1", AppId: "app"},
	}})
	require.True(t, tab.Contains("a:1"))
	require.False(t, tab.Contains("c:1"))
	require.Equal(t, "b:1", tab.Members()[1].Name, "members are sorted")

	m, ok := tab.Member("b:1")
	require.True(t, ok)
	require.Equal(t, []string{"T"}, m.Entities)
}

func TestNilTableIsEmpty(t *testing.T) {
	var tab *Table
	require.Zero(t, tab.Version())
	require.False(t, tab.Contains("a:1"))
	_, ok := tab.Owner("T", "1")
	require.False(t, ok)
	require.True(t, sameMembers(tab, NewTable(0, nil)))
}

func TestSameOwner(t *testing.T) {
	two := NewTable(1, []Member{{Name: "a:1", Entities: []string{"T"}}, {Name: "b:1", Entities: []string{"T"}}})
	three := NewTable(2, append(two.Members(), Member{Name: "c:1", Entities: []string{"T"}}))

	moved := 0
	for i := range 1000 {
		id := strconv.Itoa(i)
		if !SameOwner(two, three, "T", id) {
			moved++
			owner, _ := three.Owner("T", id)
			require.Equal(t, "c:1", owner, "only the new host gains actors")
		}
	}
	require.InDelta(t, 333, moved, 100, "about a third of the actors move to the new host")
	require.False(t, sameMembers(two, three))
}

func TestParseAddresses(t *testing.T) {
	require.Equal(t, []string{"a:1", "b:2"}, ParseAddresses(" a:1, ,b:2,"))
	require.Nil(t, ParseAddresses(""))
}

func TestJitterStaysNearTheDelay(t *testing.T) {
	for range 100 {
		d := jitter(backoffMin)
		require.GreaterOrEqual(t, d, backoffMin*8/10)
		require.Less(t, d, backoffMin*12/10)
	}
}
