package orgemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
)

// GenerateOptions describe handshakes to generate. Fresh, Stale, Final and
// Other are the shares of each kind (any scale: 5, 3, 1, 1 is 50%, 30%,
// 10%, 10%); all zero means 50% fresh, 30% stale, 10% final, 10% other.
type GenerateOptions struct {
	Count int

	// Fresh: OPEN invitations, requested well within StaleAfter.
	// Stale: OPEN invitations, requested well beyond StaleAfter but not
	// expired.
	// Final: invitations ACCEPTED, DECLINED, CANCELED and EXPIRED in turn.
	// Other: handshakes of other action types (ENABLE_ALL_FEATURES,
	// APPROVE_ALL_FEATURES in turn), OPEN or REQUESTED and as old as
	// stale invitations: never an invitation's business.
	Fresh, Stale, Final, Other float64

	// Now is the time the ages count back from; zero: time.Now().
	Now time.Time
	// StaleAfter is the age that makes an invitation stale; default 168h,
	// at most 14 days.
	StaleAfter time.Duration
	// Seed makes the result repeatable: same options, same handshakes.
	Seed uint64
}

// Generate makes o.Count handshakes in random order, targets alternating
// between 12-digit account IDs and e-mail addresses. Ages keep a margin of
// a tenth of each range from every boundary, so that a fresh invitation
// does not become stale (nor a stale one expire) while a test or benchmark
// runs. ARNs and the organization party are left for Seed to fill.
func Generate(o GenerateOptions) []Handshake {
	if o.Count <= 0 {
		return nil
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = millis(now)
	staleAfter := o.StaleAfter
	if staleAfter <= 0 {
		staleAfter = 168 * time.Hour
	}
	staleAfter = min(staleAfter, ValidFor-24*time.Hour)
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5851f42d4c957f2d))

	counts := emulator.Shares(o.Count, []float64{o.Fresh, o.Stale, o.Final, o.Other}, []float64{5, 3, 1, 1})
	kinds := make([]uint8, 0, o.Count)
	for k, n := range counts {
		for range n {
			kinds = append(kinds, uint8(k))
		}
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })

	between := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	margin := (ValidFor - staleAfter) / 10
	finals := []string{StateAccepted, StateDeclined, StateCanceled, StateExpired}
	others := []string{ActionEnableAllFeatures, ActionApproveAllFeatures}
	seen := make(map[string]bool, o.Count)
	out := make([]Handshake, o.Count)
	nFinal, nOther := 0, 0
	for i, kind := range kinds {
		id := randomID(rng)
		for seen[id] {
			id = randomID(rng)
		}
		seen[id] = true
		h := Handshake{ID: id, Action: ActionInvite, State: StateOpen}
		if i%2 == 0 {
			h.Parties = []Party{{ID: strconv.FormatInt(100000000000+rng.Int64N(900000000000), 10), Type: PartyAccount}}
		} else {
			h.Parties = []Party{{ID: "user" + strconv.Itoa(i) + "@example.com", Type: PartyEmail}}
		}
		var age time.Duration
		switch kind {
		case 0: // fresh
			age = between(staleAfter/10, staleAfter*9/10)
		case 1: // stale
			age = between(staleAfter+margin, ValidFor-margin)
		case 2: // final
			h.State = finals[nFinal%len(finals)]
			nFinal++
			if h.State == StateExpired {
				age = between(ValidFor+time.Hour, ValidFor+10*24*time.Hour)
			} else {
				age = between(time.Hour, 10*24*time.Hour)
				h.FinishedAt = now.Add(-age / 2)
			}
		default: // other action
			h.Action = others[nOther%len(others)]
			h.State = []string{StateOpen, StateRequested}[nOther/len(others)%2]
			nOther++
			age = between(staleAfter+margin, ValidFor-margin)
		}
		h.RequestedAt = now.Add(-age)
		h.ExpiresAt = h.RequestedAt.Add(ValidFor)
		out[i] = h
	}
	return out
}

func randomID(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("h-0123456789abcdef")
	for i := 2; i < len(b); i++ {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// LoadSeed reads handshakes from JSON and adds them as Seed does. Accepted
// shapes:
//
//	[ {handshake}, ... ]
//	{"Handshakes": [ {handshake}, ... ]}          (a saved List response body)
//	{"generate": {"count": 1000, "fresh": 5, "stale": 3, "final": 1,
//	              "other": 1, "staleAfter": "7d", "seed": 1}}  (see GenerateOptions)
//
// and an object may hold both "Handshakes" and "generate". A handshake is
// in the API's shape (Id, Arn, Action, State, Parties, Resources,
// RequestedTimestamp, ExpirationTimestamp as epoch seconds or RFC 3339;
// empty fields take Seed's defaults) and may also give:
//
//	"Target": "123456789012" or "someone@example.com"  (the invited party,
//	          ACCOUNT or EMAIL by its shape, instead of Parties)
//	"Age": "9d" or "36h"  (requested that long before the Server's clock,
//	          instead of RequestedTimestamp, so that a seed file stays fresh
//	          or stale whenever it is loaded)
//
// Errors name the entry and the field.
func (s *Server) LoadSeed(r io.Reader) error {
	hs, err := s.decodeSeed(r)
	if err != nil {
		return fmt.Errorf("orgemu: seed: %w", err)
	}
	return s.Seed(hs...)
}

type seedFile struct {
	Handshakes json.RawMessage `json:"Handshakes"`
	NextToken  *string         `json:"NextToken"`
	Generate   *seedGenerate   `json:"generate"`
}

type seedGenerate struct {
	Count      int     `json:"count"`
	Fresh      float64 `json:"fresh"`
	Stale      float64 `json:"stale"`
	Final      float64 `json:"final"`
	Other      float64 `json:"other"`
	StaleAfter string  `json:"staleAfter"`
	Seed       uint64  `json:"seed"`
}

// seedEntry is one handshake of a seed file.
type seedEntry struct {
	WireHandshake
	Target string `json:"Target"`
	Age    string `json:"Age"`
}

func (s *Server) decodeSeed(r io.Reader) ([]Handshake, error) {
	var f seedFile
	list, isObject, err := emulator.ReadSeed(r, &f, "Handshakes")
	if err != nil {
		return nil, err
	}
	var gen *seedGenerate
	if isObject {
		list, gen = f.Handshakes, f.Generate
	}

	now := s.clock()
	var out []Handshake
	if len(list) > 0 && !bytes.Equal(list, []byte("null")) {
		var entries []json.RawMessage
		if err := json.Unmarshal(list, &entries); err != nil {
			return nil, fmt.Errorf("Handshakes: want an array: %w", err)
		}
		out = make([]Handshake, 0, len(entries))
		for i, raw := range entries {
			h, err := decodeEntry(raw, now)
			if err != nil {
				return nil, fmt.Errorf("handshake %d: %w", i, err)
			}
			out = append(out, h)
		}
	}
	if gen != nil {
		if gen.Count < 0 {
			return nil, fmt.Errorf("generate: count %d: want 0 or more", gen.Count)
		}
		o := GenerateOptions{Count: gen.Count, Fresh: gen.Fresh, Stale: gen.Stale, Final: gen.Final, Other: gen.Other, Now: now, Seed: gen.Seed}
		if gen.StaleAfter != "" {
			d, err := emulator.ParseAge(gen.StaleAfter)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("generate: staleAfter %q: want a positive duration like 168h or 7d", bounded(gen.StaleAfter, 20))
			}
			o.StaleAfter = d
		}
		out = append(out, Generate(o)...)
	}
	return out, nil
}

func decodeEntry(raw json.RawMessage, now time.Time) (Handshake, error) {
	var e seedEntry
	if err := emulator.StrictDecode(bytes.NewReader(raw), &e); err != nil {
		return Handshake{}, err
	}
	h := Handshake{
		ID: e.ID, Arn: e.Arn, Action: e.Action, State: e.State,
		Parties: e.Parties, Resources: e.Resources,
	}
	if e.RequestedTimestamp != nil {
		h.RequestedAt = e.RequestedTimestamp.Time
	}
	if e.ExpirationTimestamp != nil {
		h.ExpiresAt = e.ExpirationTimestamp.Time
	}
	if e.Age != "" {
		if e.RequestedTimestamp != nil {
			return h, errors.New("give Age or RequestedTimestamp, not both")
		}
		age, err := emulator.ParseAge(e.Age)
		if err != nil || age < 0 {
			return h, fmt.Errorf("field Age %q: want a duration like 36h or 9d", bounded(e.Age, 20))
		}
		h.RequestedAt = now.Add(-age)
	}
	if e.Target != "" {
		if hasParty(h.Parties, PartyAccount) || hasParty(h.Parties, PartyEmail) {
			return h, errors.New("give Target or an ACCOUNT or EMAIL party, not both")
		}
		typ := PartyAccount
		if strings.Contains(e.Target, "@") {
			typ = PartyEmail
		}
		h.Parties = append(h.Parties, Party{ID: e.Target, Type: typ})
	}
	return h, nil
}
