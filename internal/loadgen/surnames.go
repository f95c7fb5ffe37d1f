package loadgen

import (
	_ "embed"
	"strings"
	"sync"
)

// surnamesFile holds the user ids of the scenarios, one surname a line: 1,000 distinct
// names of letters only, so they need no escaping in JSON or in URLs.
//
//go:embed surnames.txt
var surnamesFile string

// surnames returns the lines of surnamesFile.
var surnames = sync.OnceValue(func() []string {
	return strings.Fields(surnamesFile)
})
