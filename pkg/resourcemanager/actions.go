package resourcemanager

// Actions returns the API actions a Client calls in production, so that
// the deploy descriptors' policies can be checked against what the code
// really does (internal/deploytest): a permission nobody uses is one an
// attacker could.
func Actions() []string { return []string{actionCancel, actionList} }
