package loadgen

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJudgeFollowsWhatTheUserSet(t *testing.T) {
	p := pair{artifact: 3, user: 1}
	user := surnames()[1]
	about := func(extra string) string {
		return `{"artifactId":3,"userId":"` + user + `",` + extra + `}`
	}

	tests := []struct {
		name    string
		answers map[op]string // answers that differ from a correct app's
		outcome outcome       // of the first request judged not OK
		kind    string
		at      op
	}{
		{name: "correct app", outcome: outcomeOK},
		{
			name:    "read not kept",
			answers: map[op]string{opIsRead: about(`"answer":false`)},
			outcome: outcomeWrong, kind: "answer false after setArtifactReadByUser", at: opIsRead,
		},
		{
			name:    "feed removal lost",
			answers: map[op]string{opGetAllStates: about(`"artifactRead":true,"artifactInUserFeed":true`)},
			outcome: outcomeWrong, at: opGetAllStates,
			kind: "artifactInUserFeed true after setArtifactRemovedFromUserFeed",
		},
		{
			name:    "read forgotten by getAllStates",
			answers: map[op]string{opGetAllStates: about(`"artifactRead":false,"artifactInUserFeed":false`)},
			outcome: outcomeWrong, at: opGetAllStates,
			kind: "artifactRead false after setArtifactReadByUser",
		},
		{
			name:    "about someone else",
			answers: map[op]string{opIsInFeed: `{"artifactId":3,"userId":"Nobody","answer":true}`},
			outcome: outcomeWrong, kind: "answered about another artifact or user", at: opIsInFeed,
		},
		{
			name:    "set fails",
			answers: map[op]string{opAddToFeed: `{"success":false}`},
			outcome: outcomeError, kind: "answered success false", at: opAddToFeed,
		},
		{
			name:    "set answers nothing useful",
			answers: map[op]string{opSetRead: `{}`},
			outcome: outcomeError, kind: "answer lacks success", at: opSetRead,
		},
		{
			name:    "query lacks its flag",
			answers: map[op]string{opIsRead: about(`"answr":true`)},
			outcome: outcomeError, kind: "answer lacks answer", at: opIsRead,
		},
		{
			name:    "query lacks the echo",
			answers: map[op]string{opIsRead: `{"answer":true}`},
			outcome: outcomeError, kind: "answer lacks artifactId or userId", at: opIsRead,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var exp expectation
			state := fakeState{}
			for _, o := range sequence {
				state = nextFakeState(o, state)
				body := string(appendFakeAnswer(nil, o, fakeKey{3, user}, state))
				if a, ok := tc.answers[o]; ok {
					body = a
				}

				var a answer
				require.NoError(t, json.Unmarshal([]byte(body), &a))
				v := judge(o, p, &a, nil, &exp)
				if v.outcome != outcomeOK {
					require.Equal(t, tc.outcome, v.outcome, "at %v: %+v", o, v)
					require.Equal(t, tc.kind, v.kind)
					require.Equal(t, tc.at, o)
					return
				}
			}
			require.Equal(t, outcomeOK, tc.outcome, "every answer judged OK")
		})
	}
}

func TestJudgeOfAnUnknownStateChecksOnlyTheShape(t *testing.T) {
	var a answer
	body := `{"artifactId":0,"userId":"` + surnames()[0] + `","artifactRead":false,` +
		`"artifactInUserFeed":true}`
	require.NoError(t, json.Unmarshal([]byte(body), &a))

	v := judge(opGetAllStates, pair{}, &a, nil, &expectation{})
	require.Equal(t, verdictOK, v)
}

func TestJudgeOfACallError(t *testing.T) {
	err := &callError{kind: "status 503", err: errors.New("status 503: busy")}
	v := judge(opSetRead, pair{}, &answer{}, err, &expectation{})
	require.Equal(t, outcomeError, v.outcome)
	require.Equal(t, "status 503", v.kind)
}

// nextFakeState returns the state of a correct app after request o.
func nextFakeState(o op, st fakeState) fakeState {
	app := &fakeApp{states: map[fakeKey]fakeState{{}: st}}
	return app.apply(o, fakeKey{})
}
