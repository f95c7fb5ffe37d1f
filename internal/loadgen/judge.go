package loadgen

import (
	"errors"
	"strconv"
)

// outcome is how a request ended.
type outcome uint8

const (
	outcomeOK    outcome = iota
	outcomeError         // no usable answer: transport error, bad status or shape
	outcomeWrong         // a well-formed answer that contradicts what the user set
)

// verdict is the judgement of one answer. Kind groups failures in the summary; err, when
// set, says what went wrong with this request.
type verdict struct {
	outcome outcome
	kind    string
	err     error
}

// verdictOK is the verdict on a correct answer.
var verdictOK = verdict{}

// known is what a virtual user knows of one flag of its pair.
type known uint8

const (
	unknown known = iota
	knownTrue
	knownFalse
)

// knownOf turns a bool into a known.
func knownOf(b bool) known {
	if b {
		return knownTrue
	}
	return knownFalse
}

// expectation is what a virtual user has set on its pair so far, hence what the app must
// answer about it: since the user holds its pair alone, nobody else changes it meanwhile.
type expectation struct {
	read   known
	inFeed known
	feedBy op // the request that set inFeed
}

// judge checks the answer a to request o for pair p against exp, and updates exp with what
// a successful set request changed. err is the request's error, if any.
func judge(o op, p pair, a *answer, err error, exp *expectation) verdict {
	var ce *callError
	if errors.As(err, &ce) {
		return verdict{outcome: outcomeError, kind: ce.kind, err: ce.err}
	}
	if err != nil {
		return verdict{outcome: outcomeError, kind: "transport error", err: err}
	}

	switch o {
	case opSetRead, opAddToFeed, opRemoveFromFeed:
		return judgeSet(o, a, exp)
	case opIsRead:
		return judgeQuery(p, a, a.Answer, "answer", exp.read, opSetRead)
	case opIsInFeed:
		return judgeQuery(p, a, a.Answer, "answer", exp.inFeed, exp.feedBy)
	case opGetAllStates:
		v := judgeQuery(p, a, a.ArtifactRead, "artifactRead", exp.read, opSetRead)
		if v != verdictOK {
			return v
		}
		return judgeQuery(p, a, a.ArtifactInUserFeed, "artifactInUserFeed",
			exp.inFeed, exp.feedBy)
	default:
		panic("loadgen: judge of unknown request " + strconv.Itoa(int(o)))
	}
}

// judgeSet checks the answer to a set request, which must be {"success":true}.
func judgeSet(o op, a *answer, exp *expectation) verdict {
	switch {
	case a.Success == nil:
		return verdict{outcome: outcomeError, kind: "answer lacks success"}
	case !*a.Success:
		return verdict{outcome: outcomeError, kind: "answered success false"}
	}

	switch o {
	case opSetRead:
		exp.read = knownTrue
	case opAddToFeed:
		exp.inFeed, exp.feedBy = knownTrue, o
	case opRemoveFromFeed:
		exp.inFeed, exp.feedBy = knownFalse, o
	}
	return verdictOK
}

// judgeQuery checks an answer that names p and carries the flag got, called field, which
// must equal want, set by the request setBy.
func judgeQuery(p pair, a *answer, got *bool, field string, want known, setBy op) verdict {
	switch {
	case a.ArtifactID == nil || a.UserID == nil:
		return verdict{outcome: outcomeError, kind: "answer lacks artifactId or userId"}
	case got == nil:
		return verdict{outcome: outcomeError, kind: "answer lacks " + field}
	case *a.ArtifactID != int64(p.artifact) || *a.UserID != surnames()[p.user]:
		return verdict{outcome: outcomeWrong, kind: "answered about another artifact or user"}
	case want != unknown && knownOf(*got) != want:
		return verdict{outcome: outcomeWrong,
			kind: field + " " + strconv.FormatBool(*got) + " after " + setBy.String()}
	}
	return verdictOK
}
