package resourcemanager_test

import (
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// A steady sweep never opens a connection per call: the default transport
// keeps as many idle connections as API_CONCURRENCY lets calls run at once.
func TestIdleConnectionsCoverTheMostCallsInFlight(t *testing.T) {
	if resourcemanager.MaxIdleConnsPerHost < config.MaxAPIConcurrency {
		t.Fatalf("%d idle connections kept per host: fewer than API_CONCURRENCY may be (%d)", resourcemanager.MaxIdleConnsPerHost, config.MaxAPIConcurrency)
	}
}
