package config

import (
	"errors"

	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// checkEndpoint applies the client's rule (resourcemanager.ParseEndpoint)
// to RESOURCEMANAGER_ENDPOINT: what start-up accepts, the client accepts.
func checkEndpoint(s string) *SettingError {
	_, err := resourcemanager.ParseEndpoint(s)
	if err == nil {
		return nil
	}
	var ee *resourcemanager.EndpointError
	if errors.As(err, &ee) {
		return &SettingError{Name: EnvEndpoint, Value: ee.Value, Want: ee.Want()}
	}
	return settingError(EnvEndpoint, s, err.Error())
}
