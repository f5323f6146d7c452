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

func TestWindowFindsTheBusiestSecond(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, base.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	tests := []struct {
		name  string
		times []time.Time
		peak  int
	}{
		{"none", nil, 0},
		{"one", at(0), 1},
		{"spread a second apart", at(0, 1000, 2000, 3000), 1},
		{"burst in the middle", at(0, 1500, 1600, 1700, 1800, 2499, 4000), 5},
		{"just under a second", at(0, 999), 2},
		{"100 per second", func() []time.Time {
			var ms []int
			for i := range 500 {
				ms = append(ms, i*10)
			}
			return at(ms...)
		}(), 100},
	}
	for _, tt := range tests {
		var w window
		for _, ts := range tt.times {
			w.add(ts)
		}
		if w.peak != tt.peak {
			t.Errorf("%s: peak %d, want %d", tt.name, w.peak, tt.peak)
		}
		if len(w.times)-w.head > 100 {
			t.Errorf("%s: window keeps %d times", tt.name, len(w.times)-w.head)
		}
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
