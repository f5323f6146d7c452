package rmemu

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestMaxInFlightCountsConcurrentRequests(t *testing.T) {
	const n = 8
	s := New(Options{})
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	s.hookServe = func() {
		arrived.Done()
		<-release
	}
	var done sync.WaitGroup
	for range n {
		done.Go(func() {
			req := httptest.NewRequest(http.MethodPost, "/?Action=ListHandshakesForResourceDirectory&Version=2020-03-31", nil)
			s.ServeHTTP(httptest.NewRecorder(), req)
		})
	}
	arrived.Wait()
	if st := s.Stats(); st.InFlight != n || st.MaxInFlight != n {
		t.Errorf("while held: InFlight %d MaxInFlight %d, want %d", st.InFlight, st.MaxInFlight, n)
	}
	close(release)
	done.Wait()
	st := s.Stats()
	if st.InFlight != 0 || st.MaxInFlight != n || st.Requests != n || st.Calls["ListHandshakesForResourceDirectory"] != n {
		t.Errorf("after: %+v", st)
	}
	if st.PeakRate < 1 || st.PeakRate > n || st.PeakRateByAction["ListHandshakesForResourceDirectory"] < 1 {
		t.Errorf("PeakRate %d, by action %v", st.PeakRate, st.PeakRateByAction)
	}
	s.ResetStats()
	if st := s.Stats(); st.Requests != 0 || st.MaxInFlight != 0 || len(s.Calls()) != 0 {
		t.Errorf("after ResetStats: %+v", st)
	}
}

func TestNonceCacheIsBounded(t *testing.T) {
	now := time.Now()
	c := newNonceCache(3, time.Minute)
	key := func(s string) [32]byte { return nonceKey("LTAIkey", s) }
	for _, k := range []string{"a", "b", "c"} {
		if !c.use(key(k), now) {
			t.Fatalf("%s refused on first use", k)
		}
	}
	if c.use(key("b"), now) {
		t.Error("replay of b accepted")
	}
	if !c.use(key("d"), now) {
		t.Error("d refused")
	}
	if !c.use(key("a"), now) {
		t.Error("a was not forgotten past the size bound")
	}
	if !c.use(key("e"), now.Add(2*time.Minute)) || !c.use(key("d"), now.Add(2*time.Minute)) {
		t.Error("nonces older than the TTL were not forgotten")
	}
	if len(c.seen) > 3 {
		t.Errorf("holds %d nonces, bound 3", len(c.seen))
	}
}

func TestPercentEncodeIsRFC3986(t *testing.T) {
	tests := map[string]string{
		"abcXYZ019-_.~": "abcXYZ019-_.~",
		"a b":           "a%20b",
		"*":             "%2A",
		"+":             "%2B",
		"/:=&%":         "%2F%3A%3D%26%25",
		"ü":             "%C3%BC",
		"":              "",
	}
	for in, want := range tests {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q, want %q", in, got, want)
		}
	}
	q := map[string][]string{"b": {"2", "1"}, "a": {"x y"}, "Signature": {"s"}}
	if got, want := encodeQuery(q, "Signature"), "a=x%20y&b=1&b=2"; got != want {
		t.Errorf("encodeQuery = %q, want %q", got, want)
	}
}
