package orgemu

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sync"
	"time"
)

// Handshake states, as the API spells them. Canceling is a handshake whose
// cancellation is under way: it reads Canceled once Options.CancelingFor
// has passed (the SDK's HandshakeState enum does not list it; a client
// sees it as an unknown state).
const (
	StateRequested = "REQUESTED"
	StateOpen      = "OPEN"
	StateCanceling = "CANCELING"
	StateCanceled  = "CANCELED"
	StateAccepted  = "ACCEPTED"
	StateDeclined  = "DECLINED"
	StateExpired   = "EXPIRED"
)

// States lists every state a handshake can be seeded in.
var States = []string{StateRequested, StateOpen, StateCanceling, StateCanceled, StateAccepted, StateDeclined, StateExpired}

// Handshake action types, as the API spells them.
const (
	ActionInvite                 = "INVITE"
	ActionEnableAllFeatures      = "ENABLE_ALL_FEATURES"
	ActionApproveAllFeatures     = "APPROVE_ALL_FEATURES"
	ActionAddServiceLinkedRole   = "ADD_ORGANIZATIONS_SERVICE_LINKED_ROLE"
	ActionTransferResponsibility = "TRANSFER_RESPONSIBILITY"
)

// Actions lists every action type a handshake can be seeded with.
var Actions = []string{ActionInvite, ActionEnableAllFeatures, ActionApproveAllFeatures, ActionAddServiceLinkedRole, ActionTransferResponsibility}

// Party types.
const (
	PartyAccount      = "ACCOUNT"
	PartyEmail        = "EMAIL"
	PartyOrganization = "ORGANIZATION"
)

// Party is a participant of a handshake.
type Party struct {
	ID   string `json:"Id"`
	Type string `json:"Type"`
}

// Resource is a HandshakeResource: extra detail of a handshake.
type Resource struct {
	Type      string     `json:"Type,omitempty"`
	Value     string     `json:"Value,omitempty"`
	Resources []Resource `json:"Resources,omitempty"`
}

// Handshake is a handshake with every field the API returns. Times are
// kept in UTC at millisecond precision.
type Handshake struct {
	ID          string
	Arn         string
	Action      string
	State       string
	Parties     []Party
	Resources   []Resource
	RequestedAt time.Time
	ExpiresAt   time.Time
	// FinishedAt is when the handshake left OPEN or REQUESTED (zero while
	// it has not): it decides when a finished handshake stops being
	// listed (Retention) and when CANCELING reads CANCELED. The API does
	// not return it.
	FinishedAt time.Time
}

// idPattern is the API's pattern of a handshake ID.
var idPattern = regexp.MustCompile(`^h-[0-9a-z]{8,32}$`)

// ValidID reports whether id matches ^h-[0-9a-z]{8,32}$.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// open reports whether a handshake in this state can still be accepted,
// declined or cancelled.
func open(state string) bool { return state == StateOpen || state == StateRequested }

// store holds the handshakes: a slice in listing order and an index by ID,
// behind one lock.
type store struct {
	mu    sync.RWMutex
	items []Handshake
	byID  map[string]int
	rng   *rand.Rand // new handshake IDs; guarded by mu
}

func (st *store) init(seed uint64) {
	st.byID = make(map[string]int)
	st.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// millis normalises a time as the emulator keeps it.
func millis(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

// view is h as the API shows it at now: an open handshake past its
// expiration reads EXPIRED, a CANCELING one CANCELED once settled.
func (s *Server) view(h Handshake, now time.Time) Handshake {
	switch {
	case open(h.State) && !h.ExpiresAt.IsZero() && !now.Before(h.ExpiresAt):
		h.State = StateExpired
		h.FinishedAt = h.ExpiresAt
	case h.State == StateCanceling && s.canceling >= 0 && !now.Before(h.FinishedAt.Add(s.canceling)):
		h.State = StateCanceled
	}
	return h
}

// gone reports whether a handshake seen as h at now is past its retention.
func gone(h Handshake, now time.Time) bool {
	return !open(h.State) && h.State != StateCanceling && !h.FinishedAt.IsZero() && now.Sub(h.FinishedAt) >= Retention
}

// Seed adds handshakes, or replaces those with the same ID (in place,
// keeping their listing position). Each must have a valid ID (or none: a
// fresh one is drawn), and a known action and state; empty fields take
// defaults: Action INVITE; State OPEN for an invitation, REQUESTED
// otherwise; RequestedAt now; ExpiresAt RequestedAt + ValidFor; for a
// finished handshake FinishedAt RequestedAt; Parties the organization and,
// for an invitation without one, no target (give it in Parties); Arn from
// the organization, action and ID. Nothing is added when any is invalid.
func (s *Server) Seed(hs ...Handshake) error {
	now := s.clock()
	ready := make([]Handshake, len(hs))
	for i, h := range hs {
		var err error
		if ready[i], err = s.complete(h, now); err != nil {
			return fmt.Errorf("orgemu: seed handshake %d: %w", i, err)
		}
	}
	st := &s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	st.items = slices.Grow(st.items, len(ready))
	for _, h := range ready {
		if h.ID == "" {
			h.ID = st.newID()
			h.Arn = s.arn(h.Action, h.ID)
		}
		if i, ok := st.byID[h.ID]; ok {
			st.items[i] = h
			continue
		}
		st.byID[h.ID] = len(st.items)
		st.items = append(st.items, h)
	}
	return nil
}

// complete validates h and fills its defaults.
func (s *Server) complete(h Handshake, now time.Time) (Handshake, error) {
	if h.ID != "" && !ValidID(h.ID) {
		return h, fmt.Errorf("ID %q: want h- followed by 8 to 32 lower-case letters or digits", bounded(h.ID, 40))
	}
	if h.Action == "" {
		h.Action = ActionInvite
	}
	if !contains(Actions, h.Action) {
		return h, fmt.Errorf("handshake %s: action %q: want one of %v", h.ID, bounded(h.Action, 40), Actions)
	}
	if h.State == "" {
		h.State = StateRequested
		if h.Action == ActionInvite {
			h.State = StateOpen
		}
	}
	if !contains(States, h.State) {
		return h, fmt.Errorf("handshake %s: state %q: want one of %v", h.ID, bounded(h.State, 40), States)
	}
	for _, p := range h.Parties {
		if p.Type != PartyAccount && p.Type != PartyEmail && p.Type != PartyOrganization {
			return h, fmt.Errorf("handshake %s: party type %q: want ACCOUNT, EMAIL or ORGANIZATION", h.ID, bounded(p.Type, 40))
		}
	}
	if !hasParty(h.Parties, PartyOrganization) {
		h.Parties = append([]Party{{ID: s.org, Type: PartyOrganization}}, h.Parties...)
	}
	if h.RequestedAt.IsZero() {
		h.RequestedAt = now
	}
	h.RequestedAt = millis(h.RequestedAt)
	if h.ExpiresAt.IsZero() {
		h.ExpiresAt = h.RequestedAt.Add(ValidFor)
	}
	h.ExpiresAt = millis(h.ExpiresAt)
	if open(h.State) {
		h.FinishedAt = time.Time{}
	} else if h.FinishedAt.IsZero() {
		h.FinishedAt = h.RequestedAt
		if h.State == StateExpired {
			h.FinishedAt = h.ExpiresAt
		}
	}
	h.FinishedAt = millis(h.FinishedAt)
	if h.Arn == "" && h.ID != "" {
		h.Arn = s.arn(h.Action, h.ID)
	}
	return h, nil
}

func hasParty(ps []Party, typ string) bool {
	for _, p := range ps {
		if p.Type == typ {
			return true
		}
	}
	return false
}

// arn is the handshake's ARN:
// arn:aws:organizations::<management account>:handshake/<org>/<action>/<id>.
func (s *Server) arn(action, id string) string {
	return "arn:aws:organizations::" + s.mgmt + ":handshake/" + s.org + "/" + arnKind[action] + "/" + id
}

// arnKind is the handshake type as an ARN spells it.
var arnKind = map[string]string{
	ActionInvite: "invite", ActionEnableAllFeatures: "all_features", ActionApproveAllFeatures: "approve_all_features",
	ActionAddServiceLinkedRole: "add_organizations_service_linked_role", ActionTransferResponsibility: "transfer_responsibility",
}

// Get returns the handshake with this ID as the API would show it now, and
// false if there is none (or it is past its retention).
func (s *Server) Get(id string) (Handshake, bool) {
	now := s.clock()
	st := &s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	i, ok := st.byID[id]
	if !ok {
		return Handshake{}, false
	}
	h := s.view(st.items[i], now)
	if gone(h, now) {
		return Handshake{}, false
	}
	return clone(h), true
}

// State returns the state the API would show now for this ID, or "" if
// there is no such handshake.
func (s *Server) State(id string) string {
	h, _ := s.Get(id)
	return h.State
}

// Handshakes returns every handshake still listed, in listing order, as
// the API would show them now.
func (s *Server) Handshakes() []Handshake {
	now := s.clock()
	st := &s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]Handshake, 0, len(st.items))
	for _, h := range st.items {
		if h = s.view(h, now); !gone(h, now) {
			out = append(out, clone(h))
		}
	}
	return out
}

// Len returns how many handshakes the emulator holds, listed or not.
func (s *Server) Len() int {
	st := &s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.items)
}

func clone(h Handshake) Handshake {
	h.Parties = append([]Party(nil), h.Parties...)
	h.Resources = cloneResources(h.Resources)
	return h
}

func cloneResources(rs []Resource) []Resource {
	if rs == nil {
		return nil
	}
	out := make([]Resource, len(rs))
	for i, r := range rs {
		r.Resources = cloneResources(r.Resources)
		out[i] = r
	}
	return out
}

// transition moves the handshake id to state `to` at now, and returns it
// or the exception that refuses the move.
func (s *Server) transition(id, to string, now time.Time) (Handshake, *response) {
	st := &s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	i, ok := st.byID[id]
	if !ok {
		r := apiError(codeNotFound, msgNotFound)
		return Handshake{}, &r
	}
	cur := s.view(st.items[i], now)
	if gone(cur, now) {
		r := apiError(codeNotFound, msgNotFound)
		return Handshake{}, &r
	}
	switch {
	case open(cur.State):
	case cur.State == StateCanceling:
		r := apiError(codeConcurrent, msgConcurrent)
		return Handshake{}, &r
	case cur.State == to:
		r := apiError(codeAlreadyInState, "The specified handshake is already in the requested state.")
		return Handshake{}, &r
	default:
		r := apiError(codeInvalidTransition, "You can't perform the operation on the handshake in its current state ("+cur.State+").")
		return Handshake{}, &r
	}
	h := &st.items[i]
	h.State = to
	h.FinishedAt = millis(now)
	return clone(*h), nil
}

// page returns up to size handshakes still listed at now, starting at
// listing position from, that match action ("" for any) and parent (""
// for any), and the position to continue from (0: none left).
func (s *Server) page(from, size int, action, parent string, now time.Time) ([]Handshake, int) {
	st := &s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	var out []Handshake
	for i := from; i < len(st.items); i++ {
		h := s.view(st.items[i], now)
		if gone(h, now) || (action != "" && h.Action != action) || (parent != "" && !hasParent(h, parent)) {
			continue
		}
		if len(out) == size {
			return out, i
		}
		out = append(out, clone(h))
	}
	return out, 0
}

func hasParent(h Handshake, parent string) bool {
	for _, r := range h.Resources {
		if r.Type == "PARENT_HANDSHAKE" && r.Value == parent {
			return true
		}
	}
	return false
}

// add stores a new handshake under a fresh ID, unless an open invitation
// to the same target exists: then it returns false.
func (s *Server) add(h Handshake, now time.Time) (Handshake, bool) {
	st := &s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	target, _ := targetOf(h)
	for _, x := range st.items {
		if x = s.view(x, now); x.Action == h.Action && open(x.State) {
			if t, ok := targetOf(x); ok && t == target {
				return Handshake{}, false
			}
		}
	}
	h.ID = st.newID()
	h.Arn = s.arn(h.Action, h.ID)
	st.byID[h.ID] = len(st.items)
	st.items = append(st.items, h)
	return clone(h), true
}

// targetOf returns the party an invitation is sent to.
func targetOf(h Handshake) (Party, bool) {
	for _, p := range h.Parties {
		if p.Type == PartyAccount || p.Type == PartyEmail {
			return p, true
		}
	}
	return Party{}, false
}

// newID draws an unused ID: "h-" and 16 lower-case letters or digits.
// Callers hold st.mu.
func (st *store) newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for {
		b := []byte("h-0123456789abcdef")
		for i := 2; i < len(b); i++ {
			b[i] = alphabet[st.rng.IntN(len(alphabet))]
		}
		if _, taken := st.byID[string(b)]; !taken {
			return string(b)
		}
	}
}
