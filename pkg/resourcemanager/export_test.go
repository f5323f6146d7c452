package resourcemanager

// MaxIdleConnsPerHost is maxIdleConnsPerHost, for the tests of
// package resourcemanager_test.
const MaxIdleConnsPerHost = maxIdleConnsPerHost
