package rmemu

import (
	"context"
	"net/http"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
)

// Faults are the emulator's fault injection settings (see
// emulator.Faults); the zero value injects nothing. A request over
// RateLimit, or throttled at ThrottleRate, is answered 400 Throttling.User
// "Request was denied due to user flow control."; one failed at ErrorRate
// is answered 503 ServiceUnavailable or 500 InternalError (one or the other
// at random) without acting.
type Faults emulator.Faults

// Validate reports the first setting out of range.
func (f Faults) Validate() error { return emulator.Faults(f).Validate("rmemu") }

// faultState is the fault configuration in force, the scripts per ID, and
// the seeded random source, behind one lock.
type faultState struct {
	emulator.FaultState
	throttle    map[string]int // ID -> calls left to throttle
	unavailable map[string]int // ID -> calls left to answer 503; -1: every call
}

func (fs *faultState) init(f Faults, seed uint64) {
	fs.throttle = make(map[string]int)
	fs.unavailable = make(map[string]int)
	fs.Init(emulator.Faults(f), seed)
}

// SetFaults replaces the fault injection settings while serving. Values out
// of range (see Faults.Validate) are clamped.
func (s *Server) SetFaults(f Faults) { s.faults.Set(emulator.Faults(f)) }

// Faults returns the fault injection settings in force.
func (s *Server) Faults() Faults { return Faults(s.faults.Get()) }

// ThrottleNext answers 400 Throttling.User to the next n calls that name
// this HandshakeId (after authentication), then lets calls through.
func (s *Server) ThrottleNext(id string, n int) {
	s.faults.script(s.faults.throttle, id, n)
}

// FailNext answers 503 ServiceUnavailable to the next n calls that name
// this HandshakeId (n < 0: every call), without acting.
func (s *Server) FailNext(id string, n int) {
	s.faults.script(s.faults.unavailable, id, n)
}

// FailAlways answers 503 ServiceUnavailable to every call that names this
// HandshakeId, until ClearScripts.
func (s *Server) FailAlways(id string) {
	s.faults.script(s.faults.unavailable, id, -1)
}

// DropAfterCancel makes the next successful CancelHandshake of this ID
// apply the cancel and then close the connection without an answer.
func (s *Server) DropAfterCancel(id string) { s.faults.DropNextCancel(id) }

// ClearScripts forgets every scripted failure set by ThrottleNext,
// FailNext, FailAlways and DropAfterCancel.
func (s *Server) ClearScripts() {
	s.faults.ClearScripts(func() {
		clear(s.faults.throttle)
		clear(s.faults.unavailable)
	})
}

func (fs *faultState) script(m map[string]int, id string, n int) {
	fs.Lock()
	defer fs.Unlock()
	if n == 0 {
		delete(m, id)
		return
	}
	m[id] = n
}

// inject decides, for an authenticated request naming id (or ""), whether
// flow control, a script or the random 5xx rate answers it instead of the
// action.
func (fs *faultState) inject(id string) *response {
	var scripted *response
	fault, kind := fs.Inject(id, func(id string) bool {
		if n := fs.throttle[id]; n > 0 {
			emulator.CountDown(fs.throttle, id, n)
			scripted = fail(http.StatusBadRequest, "Throttling.User", msgThrottlingUser)
			return true
		}
		if n := fs.unavailable[id]; n != 0 {
			emulator.CountDown(fs.unavailable, id, n)
			scripted = fail(http.StatusServiceUnavailable, "ServiceUnavailable", msgServiceUnavailable)
			return true
		}
		return false
	}, 2)
	switch fault {
	case emulator.Throttled:
		return fail(http.StatusBadRequest, "Throttling.User", msgThrottlingUser)
	case emulator.Scripted:
		return scripted
	case emulator.Failed:
		if kind == 0 {
			return fail(http.StatusServiceUnavailable, "ServiceUnavailable", msgServiceUnavailable)
		}
		return fail(http.StatusInternalServerError, "InternalError", msgInternalError)
	}
	return nil
}

// delay waits for the configured latency, or until ctx is done.
func (fs *faultState) delay(ctx context.Context) error { return fs.Delay(ctx) }

// dropAfterCancel decides whether the answer to an applied cancel of id is
// dropped.
func (fs *faultState) dropAfterCancel(id string) bool { return fs.DropAfterCancel(id) }
