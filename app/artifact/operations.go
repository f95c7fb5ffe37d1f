package artifact

// The six actor methods. Each is also the last path element of its public endpoint
// under /artifactState/.
const (
	MethodIsArtifactReadByUser           = "isArtifactReadByUser"
	MethodIsArtifactInUserFeed           = "isArtifactInUserFeed"
	MethodGetAllStates                   = "getAllStates"
	MethodSetArtifactReadByUser          = "setArtifactReadByUser"
	MethodSetArtifactAddedToUserFeed     = "setArtifactAddedToUserFeed"
	MethodSetArtifactRemovedFromUserFeed = "setArtifactRemovedFromUserFeed"
)

// AnswerReply answers the two yes/no queries.
type AnswerReply struct {
	ArtifactID int64  `json:"artifactId"`
	UserID     string `json:"userId"`
	Answer     bool   `json:"answer"`
}

// AllStatesReply answers getAllStates.
type AllStatesReply struct {
	ArtifactID         int64  `json:"artifactId"`
	UserID             string `json:"userId"`
	ArtifactRead       bool   `json:"artifactRead"`
	ArtifactInUserFeed bool   `json:"artifactInUserFeed"`
}

// SuccessReply answers the three commands.
type SuccessReply struct {
	Success bool `json:"success"`
}

// operation is one actor method: a query has a reply and no update; a command has an
// update, answers SuccessReply, and is POST-only in the public API.
type operation struct {
	update func(State) State
	reply  func(Entity, State) any
}

// isCommand reports whether the operation changes state.
func (op operation) isCommand() bool { return op.update != nil }

// operations maps each actor method name to what it does.
var operations = map[string]operation{
	MethodIsArtifactReadByUser: {
		reply: func(e Entity, s State) any {
			return AnswerReply{ArtifactID: e.ArtifactID, UserID: e.UserID, Answer: s.ArtifactRead}
		},
	},
	MethodIsArtifactInUserFeed: {
		reply: func(e Entity, s State) any {
			return AnswerReply{ArtifactID: e.ArtifactID, UserID: e.UserID, Answer: s.ArtifactInUserFeed}
		},
	},
	MethodGetAllStates: {
		reply: func(e Entity, s State) any {
			return AllStatesReply{
				ArtifactID:         e.ArtifactID,
				UserID:             e.UserID,
				ArtifactRead:       s.ArtifactRead,
				ArtifactInUserFeed: s.ArtifactInUserFeed,
			}
		},
	},
	MethodSetArtifactReadByUser: {
		update: func(s State) State { s.ArtifactRead = true; return s },
	},
	MethodSetArtifactAddedToUserFeed: {
		update: func(s State) State { s.ArtifactInUserFeed = true; return s },
	},
	MethodSetArtifactRemovedFromUserFeed: {
		update: func(s State) State { s.ArtifactInUserFeed = false; return s },
	},
}

// methodNames lists the operations in a fixed order, for routes and error messages.
var methodNames = []string{
	MethodIsArtifactReadByUser,
	MethodIsArtifactInUserFeed,
	MethodGetAllStates,
	MethodSetArtifactReadByUser,
	MethodSetArtifactAddedToUserFeed,
	MethodSetArtifactRemovedFromUserFeed,
}
