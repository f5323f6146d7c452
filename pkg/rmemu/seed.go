package rmemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// GenerateOptions describe invitations to generate. Fresh, Stale and Final
// are the shares of each kind (any scale: 6, 3, 1 is 60%, 30%, 10%); all
// zero means 60% fresh, 30% stale, 10% final.
type GenerateOptions struct {
	Count int

	// Fresh: Pending, created well within StaleAfter.
	// Stale: Pending, created well beyond StaleAfter but not expired.
	// Final: Accepted, Cancelled, Declined and Expired in turn.
	Fresh, Stale, Final float64

	// Now is the time the ages count back from; zero: time.Now().
	Now time.Time
	// StaleAfter is the age that makes a Pending invitation stale (the
	// janitor's STALE_AFTER); default 168h, at most 13 days.
	StaleAfter time.Duration
	// Seed makes the result repeatable: same options, same invitations.
	Seed uint64
}

// Generate makes o.Count invitations in random order with IDs in mixed
// case. Ages keep a margin of a tenth of each range from every boundary, so
// that a fresh invitation does not become stale (nor a stale one expire)
// while a test or benchmark runs. Directory and account fields are left
// empty for Seed to fill.
func Generate(o GenerateOptions) []handshake.Handshake {
	if o.Count <= 0 {
		return nil
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = seconds(now)
	staleAfter := o.StaleAfter
	if staleAfter <= 0 {
		staleAfter = 168 * time.Hour
	}
	staleAfter = min(staleAfter, ValidFor-24*time.Hour)
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5851f42d4c957f2d))

	counts := emulator.Shares(o.Count, []float64{o.Fresh, o.Stale, o.Final}, []float64{6, 3, 1})
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
	finals := []handshake.Status{handshake.StatusAccepted, handshake.StatusCancelled, handshake.StatusDeclined, handshake.StatusExpired}
	seen := make(map[string]bool, o.Count)
	out := make([]handshake.Handshake, o.Count)
	nFinal := 0
	for i, kind := range kinds {
		id := "h-" + randomString(rng, 16, mixedAlnum)
		for seen[id] {
			id = "h-" + randomString(rng, 16, mixedAlnum)
		}
		seen[id] = true
		h := handshake.Handshake{HandshakeID: id, Status: handshake.StatusPending, Note: "generated"}
		if i%2 == 0 {
			h.TargetType = handshake.TargetAccount
			h.TargetEntity = strconv.FormatInt(1000000000000000+rng.Int64N(9000000000000000), 10)
		} else {
			h.TargetType = handshake.TargetEmail
			h.TargetEntity = "user" + strconv.Itoa(i) + "@example.com"
		}
		var age time.Duration
		switch kind {
		case 0: // fresh
			age = between(staleAfter/10, staleAfter*9/10)
		case 1: // stale
			margin := (ValidFor - staleAfter) / 10
			age = between(staleAfter+margin, ValidFor-margin)
		default:
			h.Status = finals[nFinal%len(finals)]
			nFinal++
			if h.Status == handshake.StatusExpired {
				// Stored Pending, past ExpireTime: reads as Expired,
				// as on the service.
				h.Status = handshake.StatusPending
				age = between(ValidFor+time.Hour, 60*24*time.Hour)
			} else {
				age = between(time.Hour, 30*24*time.Hour)
			}
		}
		h.CreateTime = now.Add(-age)
		h.ModifyTime = h.CreateTime
		if h.Status != handshake.StatusPending {
			h.ModifyTime = h.CreateTime.Add(between(0, min(age, ValidFor)))
		}
		h.ExpireTime = h.CreateTime.Add(ValidFor)
		out[i] = h
	}
	return out
}

// LoadSeed reads invitations from JSON and adds them as Seed does. Accepted
// shapes:
//
//	[ {handshake}, ... ]
//	{"handshakes": [ {handshake}, ... ]}
//	{"handshakes": {"Handshake": [ ... ]}}         (a saved List response body)
//	{"generate": {"count": 1000, "fresh": 6, "stale": 3, "final": 1,
//	              "staleAfter": "7d", "seed": 1}}   (see GenerateOptions)
//
// and an object may hold both "handshakes" and "generate". A handshake is in
// the API's wire shape (HandshakeId, TargetEntity, TargetType, Note, Status,
// CreateTime, ...; empty fields take Seed's defaults) and may give "Age"
// instead of CreateTime ("9d", "36h": created that long before the
// Server's clock), so that a seed file stays fresh or stale whenever it is
// loaded. Errors name the entry and the field.
func (s *Server) LoadSeed(r io.Reader) error {
	hs, err := s.decodeSeed(r)
	if err != nil {
		return fmt.Errorf("rmemu: seed: %w", err)
	}
	return s.Seed(hs...)
}

type seedFile struct {
	Handshakes json.RawMessage `json:"handshakes"`
	Generate   *seedGenerate   `json:"generate"`
}

type seedGenerate struct {
	Count      int     `json:"count"`
	Fresh      float64 `json:"fresh"`
	Stale      float64 `json:"stale"`
	Final      float64 `json:"final"`
	StaleAfter string  `json:"staleAfter"`
	Seed       uint64  `json:"seed"`
}

// seedEntry lists the fields a handshake entry may have, to refuse typos.
type seedEntry struct {
	HandshakeID         json.RawMessage `json:"HandshakeId"`
	ResourceDirectoryID json.RawMessage `json:"ResourceDirectoryId"`
	MasterAccountID     json.RawMessage `json:"MasterAccountId"`
	MasterAccountName   json.RawMessage `json:"MasterAccountName"`
	TargetEntity        json.RawMessage `json:"TargetEntity"`
	TargetType          json.RawMessage `json:"TargetType"`
	Note                json.RawMessage `json:"Note"`
	Status              json.RawMessage `json:"Status"`
	CreateTime          json.RawMessage `json:"CreateTime"`
	ModifyTime          json.RawMessage `json:"ModifyTime"`
	ExpireTime          json.RawMessage `json:"ExpireTime"`
	Age                 string          `json:"Age"`
}

func (s *Server) decodeSeed(r io.Reader) ([]handshake.Handshake, error) {
	var f seedFile
	list, isObject, err := emulator.ReadSeed(r, &f, "handshakes")
	if err != nil {
		return nil, err
	}
	var gen *seedGenerate
	if isObject {
		list, gen = f.Handshakes, f.Generate
	}

	now := s.clock()
	var out []handshake.Handshake
	if len(list) > 0 && !bytes.Equal(list, []byte("null")) {
		entries, err := entriesOf(list)
		if err != nil {
			return nil, err
		}
		out = make([]handshake.Handshake, 0, len(entries))
		for i, raw := range entries {
			h, err := decodeEntry(raw, now)
			if err != nil {
				return nil, fmt.Errorf("handshake %d: %w", i, err)
			}
			out = append(out, h)
		}
	}
	if gen != nil {
		o := GenerateOptions{Count: gen.Count, Fresh: gen.Fresh, Stale: gen.Stale, Final: gen.Final, Now: now, Seed: gen.Seed}
		if gen.Count < 0 {
			return nil, fmt.Errorf("generate: count %d: want 0 or more", gen.Count)
		}
		if gen.StaleAfter != "" {
			d, err := emulator.ParseAge(gen.StaleAfter)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("generate: staleAfter %s: want a positive duration like 168h or 7d", handshake.Quote(gen.StaleAfter, 20))
			}
			o.StaleAfter = d
		}
		out = append(out, Generate(o)...)
	}
	return out, nil
}

// entriesOf accepts an array, or {"Handshake": [...]} as List answers.
func entriesOf(list json.RawMessage) ([]json.RawMessage, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(list, &entries); err == nil {
		return entries, nil
	}
	var wrapped struct {
		Handshake []json.RawMessage `json:"Handshake"`
	}
	if err := emulator.StrictDecode(bytes.NewReader(list), &wrapped); err != nil {
		return nil, fmt.Errorf("handshakes: want an array, or {\"Handshake\": [...]}: %w", err)
	}
	return wrapped.Handshake, nil
}

func decodeEntry(raw json.RawMessage, now time.Time) (handshake.Handshake, error) {
	var extra seedEntry
	if err := emulator.StrictDecode(bytes.NewReader(raw), &extra); err != nil {
		return handshake.Handshake{}, err
	}
	var h handshake.Handshake
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, err
	}
	if extra.Age != "" {
		if !h.CreateTime.IsZero() {
			return h, errors.New("give Age or CreateTime, not both")
		}
		age, err := emulator.ParseAge(extra.Age)
		if err != nil || age < 0 {
			return h, fmt.Errorf("field Age %s: want a duration like 36h or 9d", handshake.Quote(extra.Age, 20))
		}
		h.CreateTime = now.Add(-age)
	}
	return h, nil
}
