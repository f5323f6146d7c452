package rmemu

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// store holds the invitations: a slice in listing order and an index by
// ID, behind one lock. Times are kept in UTC at second precision, as the
// API shows them, so what Get returns equals what a client decodes.
type store struct {
	mu    sync.RWMutex
	items []handshake.Handshake
	byID  map[string]int
	rng   *rand.Rand // new invitation IDs; guarded by mu
}

func (st *store) init(seed uint64) {
	st.byID = make(map[string]int)
	st.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// seconds normalises a time as the API shows it.
func seconds(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

// view is h as the API shows it at now: a Pending invitation past its
// ExpireTime reads as Expired.
func view(h handshake.Handshake, now time.Time) handshake.Handshake {
	if h.Status == handshake.StatusPending && !h.ExpireTime.IsZero() && !now.Before(h.ExpireTime) {
		h.Status = handshake.StatusExpired
	}
	return h
}

// Seed adds invitations, or replaces those with the same HandshakeId (in
// place, keeping their listing position). Each must have a valid ID; empty
// fields take defaults: Status Pending, CreateTime now, ModifyTime
// CreateTime, ExpireTime CreateTime + 14 days, TargetType Email when
// TargetEntity holds an @ and Account otherwise, and the Server's resource
// directory and management account. Nothing is added when any is invalid.
func (s *Server) Seed(hs ...handshake.Handshake) error {
	now := s.clock()
	ready := make([]handshake.Handshake, len(hs))
	for i, h := range hs {
		var err error
		if ready[i], err = s.complete(h, now); err != nil {
			return fmt.Errorf("rmemu: seed handshake %d: %w", i, err)
		}
	}
	st := &s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, h := range ready {
		if i, ok := st.byID[h.HandshakeID]; ok {
			st.items[i] = h
			continue
		}
		st.byID[h.HandshakeID] = len(st.items)
		st.items = append(st.items, h)
	}
	return nil
}

var validStatus = map[handshake.Status]bool{
	handshake.StatusPending: true, handshake.StatusAccepted: true, handshake.StatusCancelled: true,
	handshake.StatusDeclined: true, handshake.StatusExpired: true,
}

// complete validates h and fills its defaults.
func (s *Server) complete(h handshake.Handshake, now time.Time) (handshake.Handshake, error) {
	if _, err := handshake.ParseID(h.HandshakeID); err != nil {
		return h, err
	}
	if h.Status == "" {
		h.Status = handshake.StatusPending
	}
	if !validStatus[h.Status] {
		return h, fmt.Errorf("handshake %s: status %s: want Pending, Accepted, Cancelled, Declined or Expired",
			h.HandshakeID, handshake.Quote(string(h.Status), 20))
	}
	if h.TargetType == "" {
		h.TargetType = handshake.TargetAccount
		if strings.Contains(h.TargetEntity, "@") {
			h.TargetType = handshake.TargetEmail
		}
	}
	tt, err := handshake.ParseTargetType(string(h.TargetType))
	if err != nil {
		return h, fmt.Errorf("handshake %s: %w", h.HandshakeID, err)
	}
	h.TargetType = tt
	if h.ResourceDirectoryID == "" {
		h.ResourceDirectoryID = s.rdID
	}
	if h.MasterAccountID == "" {
		h.MasterAccountID = s.master
	}
	if h.MasterAccountName == "" {
		h.MasterAccountName = s.name
	}
	if h.CreateTime.IsZero() {
		h.CreateTime = now
	}
	h.CreateTime = seconds(h.CreateTime)
	if h.ModifyTime.IsZero() {
		h.ModifyTime = h.CreateTime
	}
	h.ModifyTime = seconds(h.ModifyTime)
	if h.ExpireTime.IsZero() {
		h.ExpireTime = h.CreateTime.Add(ValidFor)
	}
	h.ExpireTime = seconds(h.ExpireTime)
	return h, nil
}

// Get returns the invitation with this ID as the API would show it now
// (a Pending one past its ExpireTime as Expired).
func (s *Server) Get(id string) (handshake.Handshake, bool) {
	now := s.clock()
	st := &s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	i, ok := st.byID[id]
	if !ok {
		return handshake.Handshake{}, false
	}
	return view(st.items[i], now), true
}

// Status returns the status the API would show now for this ID, or "" if
// there is no such invitation.
func (s *Server) Status(id string) handshake.Status {
	h, _ := s.Get(id)
	return h.Status
}

// Handshakes returns every invitation, in listing order, as the API would
// show them now.
func (s *Server) Handshakes() []handshake.Handshake {
	now := s.clock()
	st := &s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]handshake.Handshake, len(st.items))
	for i, h := range st.items {
		out[i] = view(h, now)
	}
	return out
}

// Len returns how many invitations the emulator holds.
func (s *Server) Len() int {
	st := &s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.items)
}

// errStatusMismatch reports a transition from a status other than Pending.
var errStatusMismatch = errors.New("status mismatch")

// errNotFound reports an unknown ID.
var errNotFound = errors.New("not found")

// transition moves a Pending invitation to status `to` at now and returns
// it; errNotFound or errStatusMismatch otherwise.
func (st *store) transition(id handshake.ID, to handshake.Status, now time.Time) (handshake.Handshake, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	i, ok := st.byID[string(id)]
	if !ok {
		return handshake.Handshake{}, errNotFound
	}
	if view(st.items[i], now).Status != handshake.StatusPending {
		return handshake.Handshake{}, errStatusMismatch
	}
	h := &st.items[i]
	h.Status = to
	h.ModifyTime = seconds(now)
	return *h, nil
}

// page returns one page of the listing as the API would show it at now.
func (st *store) page(number, size int, now time.Time) listPage {
	st.mu.RLock()
	defer st.mu.RUnlock()
	p := listPage{PageNumber: number, PageSize: size, TotalCount: len(st.items)}
	start := (number - 1) * size
	if start >= len(st.items) || start < 0 {
		return p
	}
	end := min(start+size, len(st.items))
	p.Handshakes = make([]handshake.Handshake, end-start)
	for i, h := range st.items[start:end] {
		p.Handshakes[i] = view(h, now)
	}
	return p
}

// add stores a new invitation under a fresh ID.
func (st *store) add(h handshake.Handshake) handshake.Handshake {
	st.mu.Lock()
	defer st.mu.Unlock()
	for {
		// Lower-case letters and digits, as the service's own IDs.
		h.HandshakeID = "h-" + randomString(st.rng, 16, lowerAlnum)
		if _, taken := st.byID[h.HandshakeID]; !taken {
			break
		}
	}
	st.byID[h.HandshakeID] = len(st.items)
	st.items = append(st.items, h)
	return h
}

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	mixedAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

func randomString(rng *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}
