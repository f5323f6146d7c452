package rmemu_test

import (
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestLatencyDelaysEveryAnswer(t *testing.T) {
	const latency = 30 * time.Millisecond
	e := newEnv(t, rmemu.Options{Faults: rmemu.Faults{Latency: latency, Jitter: 5 * time.Millisecond}})
	for range 3 {
		if resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory"}); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	for _, c := range e.srv.Calls() {
		if c.Duration < latency {
			t.Errorf("call took %s, less than the added latency %s", c.Duration, latency)
		}
	}
}

func TestRateLimitAnswersThrottlingUser(t *testing.T) {
	// One request per 1000 s with a burst of one: the first passes, every
	// other one in this test is over the limit, however slow the machine.
	e := newEnv(t, rmemu.Options{Faults: rmemu.Faults{RateLimit: 0.001, RateBurst: 1}})
	resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory"})
	if resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, body)
	}
	for range 4 {
		resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory"})
		wantError(t, resp, body, http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
	}
	if st := e.srv.Stats(); st.Throttled != 4 || st.Codes["Throttling.User"] != 4 {
		t.Errorf("Stats: Throttled %d, codes %v; want 4", st.Throttled, st.Codes)
	}
	// Lifted at run time.
	e.srv.SetFaults(rmemu.Faults{})
	if resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory"}); resp.StatusCode != 200 {
		t.Errorf("after lifting the limit: %d %s", resp.StatusCode, body)
	}
	// Unauthenticated requests are refused before flow control counts them.
	e.srv.SetFaults(rmemu.Faults{RateLimit: 0.001, RateBurst: 1})
	e.do(t, call{Action: "ListHandshakesForResourceDirectory", Secret: "wrong", AK: rmemu.TestAccessKeyID})
	if resp, _ := e.do(t, call{Action: "ListHandshakesForResourceDirectory"}); resp.StatusCode != 200 {
		t.Errorf("a refused signature used up the flow control: %d", resp.StatusCode)
	}
}

func TestThrottleRateThrottlesAtRandomWhateverTheRate(t *testing.T) {
	e := newEnv(t, rmemu.Options{RandSeed: 3, Faults: rmemu.Faults{ThrottleRate: 0.5}})
	e.seed(t, pending("h-Shared0000000001", time.Hour, e.clock.Now()))
	throttled := 0
	for range 40 {
		resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory"})
		if resp.StatusCode == http.StatusOK {
			continue
		}
		wantError(t, resp, body, http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
		throttled++
	}
	if throttled == 0 || throttled == 40 {
		t.Fatalf("%d of 40 requests throttled at a 0.5 throttle rate; want some, not all", throttled)
	}
	if st := e.srv.Stats(); st.Throttled != throttled {
		t.Errorf("Stats: Throttled %d, want %d", st.Throttled, throttled)
	}
	// A throttled cancel does not act.
	e.srv.SetFaults(rmemu.Faults{ThrottleRate: 1})
	resp, body := e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", "h-Shared0000000001")})
	wantError(t, resp, body, http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
	if got := e.srv.Status("h-Shared0000000001"); got != handshake.StatusPending {
		t.Errorf("a throttled cancel acted: status %s", got)
	}
}

func TestErrorRateAnswers5xxWithoutActing(t *testing.T) {
	e := newEnv(t, rmemu.Options{Faults: rmemu.Faults{ErrorRate: 1}})
	e.seed(t, pending("h-Flaky00000000001", time.Hour, e.clock.Now()))
	for range 8 {
		resp, body := e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", "h-Flaky00000000001")})
		got := decode[apiError](t, body)
		switch {
		case resp.StatusCode == 503 && got.Code == "ServiceUnavailable":
		case resp.StatusCode == 500 && got.Code == "InternalError":
		default:
			t.Errorf("answer %d %s", resp.StatusCode, body)
		}
	}
	if got := e.srv.Status("h-Flaky00000000001"); got != handshake.StatusPending {
		t.Errorf("a 5xx answer acted: status %s", got)
	}
	if st := e.srv.Stats(); st.ServerError != 8 {
		t.Errorf("ServerError = %d, want 8", st.ServerError)
	}
}

func TestErrorRateIsRepeatableWithTheSameSeed(t *testing.T) {
	statuses := func(seed uint64) []int {
		e := newEnv(t, rmemu.Options{RandSeed: seed, Faults: rmemu.Faults{ErrorRate: 0.5}})
		var out []int
		for range 40 {
			resp, _ := e.do(t, call{Action: "ListHandshakesForResourceDirectory"})
			out = append(out, resp.StatusCode)
		}
		return out
	}
	a, b := statuses(7), statuses(7)
	seen := map[int]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different answers at %d: %v vs %v", i, a, b)
		}
		seen[a[i]]++
	}
	if seen[200] == 0 || seen[500] == 0 || seen[503] == 0 {
		t.Errorf("a 0.5 error rate over 40 calls gave %v; want 200, 500 and 503", seen)
	}
}

func TestScriptedFailuresPerID(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	now := e.clock.Now()
	e.seed(t, pending("h-Throttled0000001", time.Hour, now), pending("h-Unavailable00001", time.Hour, now),
		pending("h-Bystander0000001", time.Hour, now), pending("h-FailOnce00000001", time.Hour, now))
	cancel := func(id string) (*http.Response, []byte) {
		return e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", id)})
	}

	t.Run("throttle the next 2 calls", func(t *testing.T) {
		e.srv.ThrottleNext("h-Throttled0000001", 2)
		for range 2 {
			resp, body := cancel("h-Throttled0000001")
			wantError(t, resp, body, 400, "Throttling.User", "Request was denied due to user flow control.")
		}
		if resp, _ := cancel("h-Bystander0000001"); resp.StatusCode != 200 {
			t.Errorf("another ID was affected: %d", resp.StatusCode)
		}
		if resp, body := cancel("h-Throttled0000001"); resp.StatusCode != 200 {
			t.Errorf("third call: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("503 always, until cleared", func(t *testing.T) {
		e.srv.FailAlways("h-Unavailable00001")
		for range 3 {
			resp, body := cancel("h-Unavailable00001")
			wantError(t, resp, body, 503, "ServiceUnavailable", "")
		}
		resp, body := e.do(t, call{Action: "GetHandshake", Params: params("HandshakeId", "h-Unavailable00001")})
		wantError(t, resp, body, 503, "ServiceUnavailable", "")
		if got := e.srv.Status("h-Unavailable00001"); got != handshake.StatusPending {
			t.Errorf("status %s", got)
		}
		e.srv.ClearScripts()
		if resp, body := cancel("h-Unavailable00001"); resp.StatusCode != 200 {
			t.Errorf("after ClearScripts: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("503 once", func(t *testing.T) {
		e.srv.FailNext("h-FailOnce00000001", 1)
		resp, body := cancel("h-FailOnce00000001")
		wantError(t, resp, body, 503, "ServiceUnavailable", "")
		if resp, _ := cancel("h-FailOnce00000001"); resp.StatusCode != 200 {
			t.Errorf("second call: %d", resp.StatusCode)
		}
	})
}

func TestDropAfterCancelAppliesTheCancelButAnswersNothing(t *testing.T) {
	for _, mode := range []string{"per ID", "rate"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, rmemu.Options{})
			const id = "h-DroppedCancel001"
			e.seed(t, pending(id, time.Hour, e.clock.Now()), pending("h-NotDropped000001", time.Hour, e.clock.Now()))
			if mode == "per ID" {
				e.srv.DropAfterCancel(id)
			} else {
				e.srv.SetFaults(rmemu.Faults{DropRate: 1})
			}
			// Errors before the cancel (here: a bad signature) are not dropped.
			resp, _ := e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", id), Secret: "wrong", AK: rmemu.TestAccessKeyID})
			if resp.StatusCode != 400 {
				t.Fatalf("bad signature answered %d", resp.StatusCode)
			}

			req := e.build(t, call{Action: "CancelHandshake", Params: params("HandshakeId", id)})
			if resp, err := e.client.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("got an answer (%d), want the connection dropped", resp.StatusCode)
			}
			if got := e.srv.Status(id); got != handshake.StatusCancelled {
				t.Errorf("status after the dropped answer = %s, want Cancelled", got)
			}
			calls := e.srv.Calls()
			if last := calls[len(calls)-1]; !last.Dropped || last.Status != 200 || last.Action != "CancelHandshake" || last.HandshakeID != id {
				t.Errorf("call log = %+v", last)
			}
			if st := e.srv.Stats(); st.Dropped != 1 {
				t.Errorf("Dropped = %d", st.Dropped)
			}
			// The retry a client makes finds the cancel done.
			resp, body := e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", id)})
			wantError(t, resp, body, 409, "HandshakeStatusMismatch", "")
			if mode == "per ID" {
				if resp, body := e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", "h-NotDropped000001")}); resp.StatusCode != 200 {
					t.Errorf("another ID was dropped: %d %s", resp.StatusCode, body)
				}
			}
		})
	}
}

func TestFaultsChangeSafelyWhileServing(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				e.srv.SetFaults(rmemu.Faults{ErrorRate: float64((i+j)%2) / 2, RateLimit: float64(100 + j)})
				e.srv.ThrottleNext("h-Concurrent000001", 1)
				_ = e.srv.Faults()
			}
		})
		wg.Go(func() {
			for range 5 {
				resp, _ := e.do(t, call{Action: "ListHandshakesForResourceDirectory"})
				if resp.StatusCode != 200 && resp.StatusCode != 400 && resp.StatusCode < 500 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	if st := e.srv.Stats(); st.Requests != 20 || st.Calls["ListHandshakesForResourceDirectory"] != 20 || st.InFlight != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestFaultsValidate(t *testing.T) {
	tests := []struct {
		name string
		f    rmemu.Faults
		ok   bool
	}{
		{"zero", rmemu.Faults{}, true},
		{"all set", rmemu.Faults{Latency: time.Second, Jitter: time.Second, RateLimit: 100, RateBurst: 10, ThrottleRate: 0.2, ErrorRate: 0.1, DropRate: 1}, true},
		{"negative latency", rmemu.Faults{Latency: -1}, false},
		{"negative rate", rmemu.Faults{RateLimit: -1}, false},
		{"error rate above 1", rmemu.Faults{ErrorRate: 1.5}, false},
		{"throttle rate above 1", rmemu.Faults{ThrottleRate: 1.01}, false},
		{"throttle rate NaN", rmemu.Faults{ThrottleRate: math.NaN()}, false},
		{"drop rate negative", rmemu.Faults{DropRate: -0.1}, false},
	}
	for _, tt := range tests {
		if err := tt.f.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}
