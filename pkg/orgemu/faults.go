package orgemu

import (
	"context"
	"fmt"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
)

// Faults are the emulator's fault injection settings (see
// emulator.Faults); the zero value injects nothing. A request over
// RateLimit, or throttled at ThrottleRate, is answered 429
// TooManyRequestsException; one failed at ErrorRate is answered 500
// ServiceException without acting.
type Faults emulator.Faults

// Validate reports the first setting out of range.
func (f Faults) Validate() error { return emulator.Faults(f).Validate("orgemu") }

// faultState is the fault configuration in force, the scripts per ID, and
// the seeded random source, behind one lock.
type faultState struct {
	emulator.FaultState
	scripts map[string]script // ID -> the exception its next calls get
}

// script answers the next n calls naming an ID with an exception (n < 0:
// every call).
type script struct {
	code string
	n    int
}

func (fs *faultState) init(f Faults, seed uint64) {
	fs.scripts = make(map[string]script)
	fs.Init(emulator.Faults(f), seed)
}

// SetFaults replaces the fault injection settings while serving. Values out
// of range (see Faults.Validate) are clamped.
func (s *Server) SetFaults(f Faults) { s.faults.Set(emulator.Faults(f)) }

// Faults returns the fault injection settings in force.
func (s *Server) Faults() Faults { return Faults(s.faults.Get()) }

// Scriptable lists the exceptions FailNext can answer with.
var Scriptable = []string{codeTooManyRequests, codeService, codeConcurrent, codeAccessDenied}

// FailNext answers the next n calls that name this HandshakeId (after
// authentication, before the operation acts) with the exception code, one
// of Scriptable; n < 0: every call, until ClearScripts; n = 0 forgets the
// script. A new script for an ID replaces the previous one.
func (s *Server) FailNext(id, code string, n int) error {
	if !contains(Scriptable, code) {
		return fmt.Errorf("orgemu: FailNext %q: want one of %v", code, Scriptable)
	}
	s.faults.Lock()
	defer s.faults.Unlock()
	if n == 0 {
		delete(s.faults.scripts, id)
		return nil
	}
	s.faults.scripts[id] = script{code: code, n: n}
	return nil
}

// ThrottleNext answers 429 TooManyRequestsException to the next n calls
// that name this HandshakeId.
func (s *Server) ThrottleNext(id string, n int) {
	_ = s.FailNext(id, codeTooManyRequests, n)
}

// DropAfterCancel makes the next successful CancelHandshake of this ID
// apply the cancel and then close the connection without an answer.
func (s *Server) DropAfterCancel(id string) { s.faults.DropNextCancel(id) }

// ClearScripts forgets every scripted failure set by FailNext,
// ThrottleNext and DropAfterCancel.
func (s *Server) ClearScripts() {
	s.faults.ClearScripts(func() { clear(s.faults.scripts) })
}

// delay waits for the configured latency, or until ctx is done.
func (fs *faultState) delay(ctx context.Context) error { return fs.Delay(ctx) }

// messages of the scriptable exceptions.
var scriptMessage = map[string]string{
	codeTooManyRequests: msgTooManyRequests,
	codeService:         msgService,
	codeConcurrent:      msgConcurrent,
	codeAccessDenied:    msgAccessDenied,
}

// inject decides, for an authenticated request naming id (or ""), whether
// flow control, a script or the random error rate answers it instead of
// the operation.
func (fs *faultState) inject(id string) *response {
	var code string
	fault, _ := fs.Inject(id, func(id string) bool {
		sc, ok := fs.scripts[id]
		if !ok {
			return false
		}
		switch {
		case sc.n < 0:
		case sc.n == 1:
			delete(fs.scripts, id)
		default:
			fs.scripts[id] = script{code: sc.code, n: sc.n - 1}
		}
		code = sc.code
		return true
	}, 1)
	switch fault {
	case emulator.Throttled:
		return throttled()
	case emulator.Scripted:
		if code == codeTooManyRequests {
			return throttled()
		}
		r := apiError(code, scriptMessage[code])
		return &r
	case emulator.Failed:
		r := apiError(codeService, msgService)
		return &r
	}
	return nil
}

func throttled() *response {
	r := apiError(codeTooManyRequests, msgTooManyRequests)
	return &r
}

// dropAfterCancel decides whether the answer to an applied cancel of id is
// dropped.
func (fs *faultState) dropAfterCancel(id string) bool { return fs.DropAfterCancel(id) }
