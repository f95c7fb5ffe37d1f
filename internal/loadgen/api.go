package loadgen

// apiPrefix is the path of the ArtifactState API below the target URL.
const apiPrefix = "/artifactState/"

// op is one endpoint of the ArtifactState API.
type op int

const (
	opSetRead op = iota
	opIsRead
	opAddToFeed
	opIsInFeed
	opRemoveFromFeed
	opGetAllStates
	numOps
)

// opNames are the endpoint names, which are also the request names of the reports.
var opNames = [numOps]string{
	opSetRead:        "setArtifactReadByUser",
	opIsRead:         "isArtifactReadByUser",
	opAddToFeed:      "setArtifactAddedToUserFeed",
	opIsInFeed:       "isArtifactInUserFeed",
	opRemoveFromFeed: "setArtifactRemovedFromUserFeed",
	opGetAllStates:   "getAllStates",
}

// String returns the endpoint name.
func (o op) String() string { return opNames[o] }

// answer is the union of the API's answer shapes. A nil field was absent.
type answer struct {
	Success            *bool   `json:"success"`
	ArtifactID         *int64  `json:"artifactId"`
	UserID             *string `json:"userId"`
	Answer             *bool   `json:"answer"`
	ArtifactRead       *bool   `json:"artifactRead"`
	ArtifactInUserFeed *bool   `json:"artifactInUserFeed"`
}
