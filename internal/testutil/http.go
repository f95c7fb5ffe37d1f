package testutil

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// httpClient is shared by the helpers below; its timeout keeps a hung server from
// hanging a test.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// GetStatus returns the status of GET url, or 0 when the request failed.
func GetStatus(url string) int {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// GetJSON decodes the answer of GET url into v; an answer other than 200 is an error.
func GetJSON(url string, v any) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
