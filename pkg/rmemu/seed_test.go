package rmemu_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestSampleSeedFileHoldsEveryKindOfInvitation(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	f, err := os.Open("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := e.srv.LoadSeed(f); err != nil {
		t.Fatalf("LoadSeed: %v", err)
	}
	now := e.clock.Now()
	const staleAfter = 7 * 24 * time.Hour
	want := map[string]string{
		"h-Fresh0Invite0001": "fresh",
		"h-fresh0invite0002": "fresh",
		"h-STALE0INVITE0001": "stale",
		"h-StaLe0InViTe0002": "stale",
		"h-Accepted00000001": "Accepted",
		"h-cancelled0000001": "Cancelled",
		"h-Declined00000001": "Declined",
		"h-Expired000000001": "Expired",
		"h-eXpired000000002": "Expired",
	}
	if e.srv.Len() != len(want) {
		t.Errorf("Len = %d, want %d", e.srv.Len(), len(want))
	}
	for id, kind := range want {
		h, ok := e.srv.Get(id)
		if !ok {
			t.Errorf("%s missing", id)
			continue
		}
		age := now.Sub(h.CreateTime)
		switch kind {
		case "fresh":
			if h.Status != handshake.StatusPending || age >= staleAfter {
				t.Errorf("%s: %s, age %s: want fresh Pending", id, h.Status, age)
			}
		case "stale":
			if h.Status != handshake.StatusPending || age <= staleAfter {
				t.Errorf("%s: %s, age %s: want stale Pending", id, h.Status, age)
			}
		default:
			if string(h.Status) != kind {
				t.Errorf("%s: %s, want %s", id, h.Status, kind)
			}
		}
		if !h.ExpireTime.After(h.CreateTime) || h.ResourceDirectoryID == "" || h.TargetEntity == "" {
			t.Errorf("%s: incomplete %+v", id, h)
		}
	}
}

func TestLoadSeedShapes(t *testing.T) {
	tests := []struct {
		name string
		json string
		ids  []string
	}{
		{"array", `[{"HandshakeId":"h-Array00000000001"},{"HandshakeId":"h-Array00000000002","Status":"Accepted"}]`,
			[]string{"h-Array00000000001", "h-Array00000000002"}},
		{"object", `{"handshakes":[{"HandshakeId":"h-Object0000000001","Age":"36h"}]}`, []string{"h-Object0000000001"}},
		{"List answer", `{"Handshakes":{"Handshake":[{"HandshakeId":"h-Listed0000000001","CreateTime":"2025-05-30T00:00:00Z"}]}}`,
			[]string{"h-Listed0000000001"}},
		{"empty array", `[]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := rmemu.New(rmemu.Options{})
			if err := srv.LoadSeed(strings.NewReader(tt.json)); err != nil {
				t.Fatalf("LoadSeed: %v", err)
			}
			var got []string
			for _, h := range srv.Handshakes() {
				got = append(got, h.HandshakeID)
			}
			if strings.Join(got, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("ids = %v, want %v", got, tt.ids)
			}
		})
	}
}

func TestLoadSeedRefusesBadInputNamingTheEntry(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"bad ID", `[{"HandshakeId":"h-ok00000000000001"},{"HandshakeId":"h-short"}]`, "handshake 1"},
		{"typo in a field", `[{"HandshakeId":"h-ok00000000000001","Stauts":"Pending"}]`, "Stauts"},
		{"unknown status", `[{"HandshakeId":"h-ok00000000000001","Status":"Lost"}]`, "Lost"},
		{"unknown target type", `[{"HandshakeId":"h-ok00000000000001","TargetType":"Phone"}]`, "Phone"},
		{"bad time", `[{"HandshakeId":"h-ok00000000000001","CreateTime":"yesterday"}]`, "CreateTime"},
		{"Age and CreateTime", `[{"HandshakeId":"h-ok00000000000001","Age":"1d","CreateTime":"2025-01-01T00:00:00Z"}]`, "Age or CreateTime"},
		{"bad Age", `[{"HandshakeId":"h-ok00000000000001","Age":"soon"}]`, "Age"},
		{"unknown top-level key", `{"invitations":[]}`, "invitations"},
		{"not JSON", `hello`, "want a JSON array"},
		{"empty", ``, "empty"},
		{"trailing data", `[] []`, "after"},
		{"negative count", `{"generate":{"count":-1}}`, "count"},
		{"bad staleAfter", `{"generate":{"count":1,"staleAfter":"forever"}}`, "staleAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := rmemu.New(rmemu.Options{})
			err := srv.LoadSeed(strings.NewReader(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadSeed error = %v, want one mentioning %q", err, tt.want)
			}
			if srv.Len() != 0 {
				t.Errorf("a refused seed added %d invitations", srv.Len())
			}
		})
	}
}

func TestSeedRefusesAnInvalidID(t *testing.T) {
	srv := rmemu.New(rmemu.Options{})
	err := srv.Seed(handshake.Handshake{HandshakeID: "h-Good000000000001"}, handshake.Handshake{HandshakeID: "bad"})
	if !errors.Is(err, handshake.ErrInvalidID) || srv.Len() != 0 {
		t.Errorf("Seed = %v, Len %d", err, srv.Len())
	}
}

func TestSeedReplacesAnInvitationInPlace(t *testing.T) {
	srv := rmemu.New(rmemu.Options{})
	srv.Seed(handshake.Handshake{HandshakeID: "h-First00000000001"}, handshake.Handshake{HandshakeID: "h-Second0000000001"})
	srv.Seed(handshake.Handshake{HandshakeID: "h-First00000000001", Status: handshake.StatusDeclined})
	hs := srv.Handshakes()
	if len(hs) != 2 || hs[0].HandshakeID != "h-First00000000001" || hs[0].Status != handshake.StatusDeclined {
		t.Errorf("Handshakes = %+v", hs)
	}
}

func TestGenerateMakesTheRequestedMix(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	const staleAfter = 72 * time.Hour
	opts := rmemu.GenerateOptions{Count: 20_000, Fresh: 0.5, Stale: 0.3, Final: 0.2, Now: now, StaleAfter: staleAfter, Seed: 42}
	hs := rmemu.Generate(opts)
	if len(hs) != opts.Count {
		t.Fatalf("generated %d, want %d", len(hs), opts.Count)
	}
	ids := make(map[string]bool, len(hs))
	kinds := map[string]int{}
	for _, h := range hs {
		if _, err := handshake.ParseID(h.HandshakeID); err != nil || ids[h.HandshakeID] {
			t.Fatalf("bad or repeated ID %q", h.HandshakeID)
		}
		ids[h.HandshakeID] = true
		age := now.Sub(h.CreateTime)
		switch {
		case h.Status == handshake.StatusPending && !now.Before(h.ExpireTime):
			kinds["Expired"]++
		case h.Status == handshake.StatusPending && age < staleAfter:
			kinds["fresh"]++
		case h.Status == handshake.StatusPending:
			kinds["stale"]++
		default:
			kinds[string(h.Status)]++
		}
	}
	if kinds["fresh"] != 10_000 || kinds["stale"] != 6_000 {
		t.Errorf("kinds = %v, want 10000 fresh and 6000 stale", kinds)
	}
	for _, s := range []string{"Accepted", "Cancelled", "Declined", "Expired"} {
		if kinds[s] != 1_000 {
			t.Errorf("kinds = %v, want 1000 %s", kinds, s)
		}
	}
	again := rmemu.Generate(opts)
	for i := range hs {
		if hs[i] != again[i] {
			t.Fatalf("same options, different invitation %d", i)
		}
	}

	// A server holds all of them.
	srv := rmemu.New(rmemu.Options{Clock: func() time.Time { return now }})
	if err := srv.Seed(hs...); err != nil {
		t.Fatal(err)
	}
	if srv.Len() != opts.Count || srv.Status(hs[len(hs)-1].HandshakeID) == "" {
		t.Errorf("Len = %d", srv.Len())
	}
}

func TestGenerateFromJSON(t *testing.T) {
	srv := rmemu.New(rmemu.Options{})
	err := srv.LoadSeed(strings.NewReader(`{"handshakes":[{"HandshakeId":"h-Handmade00000001"}],
		"generate":{"count":10,"fresh":1,"stale":1,"final":0,"staleAfter":"7d","seed":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	if srv.Len() != 11 {
		t.Errorf("Len = %d, want 11", srv.Len())
	}
	stale := 0
	for _, h := range srv.Handshakes() {
		if h.Status == handshake.StatusPending && srv.Now().Sub(h.CreateTime) > 7*24*time.Hour {
			stale++
		}
	}
	if stale != 5 {
		t.Errorf("stale = %d, want 5", stale)
	}
}

func TestListenAndServe(t *testing.T) {
	srv := rmemu.New(rmemu.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	endpoints := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- rmemu.ListenAndServe(ctx, "", srv, func(ep string) { endpoints <- ep }) }()
	var endpoint string
	select {
	case endpoint = <-endpoints:
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("never ready")
	}
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %q", endpoint)
	}
	resp, err := http.Get(endpoint + "/?Action=GetHandshake&Version=2020-03-31")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unsigned request: %d, want 400", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}

	for _, addr := range []string{"0.0.0.0:0", "example.com:80", "8088"} {
		if err := rmemu.ListenAndServe(context.Background(), addr, srv, nil); err == nil {
			t.Errorf("ListenAndServe(%q) accepted a non-loopback or malformed address", addr)
		}
	}
}
