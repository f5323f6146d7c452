package trigger

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/janitor"
)

const (
	id1 = "h-Ab12Cd34Ef56Gh78"
	id2 = "h-Zx98Yw76Vu54Ts32"
	id3 = "h-Mn3oPq5rSt7uVw9x"
)

// nIDs returns n distinct valid IDs joined by sep.
func nIDs(n int, sep string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		fmt.Fprintf(&b, "h-aaaaaaaaaa%06d", i)
	}
	return b.String()
}

func TestParsePayload(t *testing.T) {
	direct := func(ids ...string) job { return job{items: []item{{key: Direct, ids: ids}}} }
	tests := []struct {
		name    string
		in      string
		want    job
		wantErr error
		has     string
	}{
		// IDs as JSON
		{"handshakeIds", `{"handshakeIds":["` + id1 + `","` + id2 + `"]}`, direct(id1, id2), nil, ""},
		{"handshakeId", `{"handshakeId":"` + id1 + `"}`, direct(id1), nil, ""},
		{"both ID fields, single first", `{"handshakeIds":["` + id2 + `"],"handshakeId":"` + id1 + `"}`, direct(id1, id2), nil, ""},
		{"dryRun with IDs", `{"handshakeIds":["` + id1 + `"],"dryRun":true}`, job{items: []item{{key: Direct, ids: ids(id1)}}, dryRun: true}, nil, ""},
		{"dryRun false", `{"handshakeId":"` + id1 + `","dryRun":false}`, direct(id1), nil, ""},
		{"IDs pass through unvalidated", `{"handshakeIds":["h-abc&Action=Delete","","  h-x "]}`, direct("h-abc&Action=Delete", "", "  h-x "), nil, ""},
		{"null fields are absent", `{"handshakeId":null,"handshakeIds":["` + id1 + `"],"dryRun":null}`, direct(id1), nil, ""},
		{"white space around JSON", "\n\t {\"handshakeId\":\"" + id1 + "\"} \r\n", direct(id1), nil, ""},
		{"byte order mark", "\uFEFF{\"handshakeId\":\"" + id1 + "\"}", direct(id1), nil, ""},

		// plain text
		{"one ID", id1, direct(id1), nil, ""},
		{"commas", id1 + "," + id2 + "," + id3, direct(id1, id2, id3), nil, ""},
		{"spaces and newlines", id1 + " " + id2 + "\n" + id3 + "\r\n", direct(id1, id2, id3), nil, ""},
		{"commas and spaces, empty fields skipped", " " + id1 + " ,, ,\t" + id2 + ",", direct(id1, id2), nil, ""},
		{"text is not validated", "not-an-id", direct("not-an-id"), nil, ""},
		{"JSON string of IDs", `"` + id1 + `, ` + id2 + `"`, direct(id1, id2), nil, ""},
		{"JSON string of a JSON object", `"{\"handshakeId\":\"` + id1 + `\"}"`, direct(id1), nil, ""},

		// sweeps
		{"empty", "", job{sweep: sweep()}, nil, ""},
		{"blanks", " \n\t ", job{sweep: sweep()}, nil, ""},
		{"null", "null", job{sweep: sweep()}, nil, ""},
		{"empty object", "{}", job{sweep: sweep()}, nil, ""},
		{"empty JSON string", `""`, job{sweep: sweep()}, nil, ""},
		{"dry-run sweep", `{"dryRun":true}`, job{sweep: sweep(), dryRun: true}, nil, ""},
		{"sweep with configured policy", `{"sweep":{}}`, job{sweep: sweep()}, nil, ""},
		{"sweep null", `{"sweep":null}`, job{sweep: sweep()}, nil, ""},
		{"sweep olderThan duration", `{"sweep":{"olderThan":"72h"}}`, job{sweep: &janitor.Sweep{OlderThan: 72 * time.Hour}}, nil, ""},
		{"sweep olderThan days", `{"sweep":{"olderThan":"7d"}}`, job{sweep: &janitor.Sweep{OlderThan: 7 * 24 * time.Hour}}, nil, ""},
		{"sweep every field", `{"sweep":{"olderThan":"90m","targetType":"email","targetEntity":"*@example.com"},"dryRun":true}`,
			job{sweep: &janitor.Sweep{OlderThan: 90 * time.Minute, TargetType: handshake.TargetEmail, TargetEntity: glob("*@example.com")}, dryRun: true}, nil, ""},
		{"sweep targetType Account", `{"sweep":{"targetType":"Account"}}`, job{sweep: &janitor.Sweep{TargetType: handshake.TargetAccount}}, nil, ""},
		{"sweep allowedTargets", `{"sweep":{"allowedTargets":["*@example.com"," 1234567890123456"]},"dryRun":true}`,
			job{sweep: &janitor.Sweep{AllowedTargets: policy("*@example.com,1234567890123456")}, dryRun: true}, nil, ""},
		{"sweep allowedTargets null", `{"sweep":{"allowedTargets":null}}`, job{sweep: sweep()}, nil, ""},
		{"sweep allowedTargets empty", `{"sweep":{"allowedTargets":[]}}`, job{}, ErrInvalidPayload, `"sweep.allowedTargets" is empty`},
		{"sweep allowedTargets a string", `{"sweep":{"allowedTargets":"*@example.com"}}`, job{}, ErrInvalidPayload, "want an array of target patterns"},
		{"sweep allowedTargets bad pattern", `{"sweep":{"allowedTargets":["*@example.com","12345"]}}`, job{}, ErrInvalidPayload, `pattern "12345" has 5 digits`},
		{"sweep allowedTargets misspelt", `{"sweep":{"allowedtargets":["*@example.com"]}}`, job{}, ErrInvalidPayload, `(did you mean "allowedTargets"?)`},

		// refused
		{"unknown field", `{"handshakeIds":["` + id1 + `"],"force":true}`, job{}, ErrInvalidPayload, `unknown field "force" in the payload: the accepted fields are handshakeIds, handshakeId, dryRun, sweep`},
		{"field in wrong case", `{"HandshakeIds":["` + id1 + `"]}`, job{}, ErrInvalidPayload, `"HandshakeIds" (did you mean "handshakeIds"?)`},
		{"many unknown fields", `{"a":1,"b":2,"c":3,"d":4,"e":5}`, job{}, ErrInvalidPayload, `unknown fields "a", "b", "c" and 2 more`},
		{"console's default test event", `{"key1":"value1","key2":"value2","key3":"value3"}`, job{}, ErrInvalidPayload, `unknown fields "key1", "key2", "key3"`},
		{"unknown sweep field", `{"sweep":{"olderThan":"1h","age":"2h"}}`, job{}, ErrInvalidPayload, `unknown field "age" in "sweep": the accepted fields are olderThan, targetType, targetEntity`},
		{"IDs and sweep", `{"handshakeId":"` + id1 + `","sweep":{}}`, job{}, ErrInvalidPayload, "both names invitations and asks for a sweep"},
		{"empty handshakeIds", `{"handshakeIds":[]}`, job{}, ErrInvalidPayload, `"handshakeIds" is empty`},
		{"handshakeIds not strings", `{"handshakeIds":[1,2]}`, job{}, ErrInvalidPayload, `"handshakeIds" is "[1,2]", want an array of strings`},
		{"handshakeIds a string", `{"handshakeIds":"` + id1 + `"}`, job{}, ErrInvalidPayload, "want an array of strings"},
		{"handshakeId a number", `{"handshakeId":42}`, job{}, ErrInvalidPayload, `"handshakeId" is "42", want a string`},
		{"dryRun a string", `{"handshakeId":"` + id1 + `","dryRun":"true"}`, job{}, ErrInvalidPayload, `"dryRun" is "\"true\"", want true or false`},
		{"sweep not an object", `{"sweep":true}`, job{}, ErrInvalidPayload, `"sweep" is "true", want an object`},
		{"olderThan not a duration", `{"sweep":{"olderThan":"a week"}}`, job{}, ErrInvalidPayload, `"sweep.olderThan": invalid duration "a week": want a Go duration like 72h or whole days like 7d, greater than zero and at most 36500d`},
		{"olderThan negative", `{"sweep":{"olderThan":"-1h"}}`, job{}, ErrInvalidPayload, "greater than zero"},
		{"olderThan zero", `{"sweep":{"olderThan":"0s"}}`, job{}, ErrInvalidPayload, "greater than zero"},
		{"olderThan zero days", `{"sweep":{"olderThan":"0d"}}`, job{}, ErrInvalidPayload, "greater than zero and at most 36500d"},
		{"olderThan fractional days", `{"sweep":{"olderThan":"1.5d"}}`, job{}, ErrInvalidPayload, "want a Go duration like 72h or whole days like 7d"},
		{"olderThan huge days", `{"sweep":{"olderThan":"99999999999d"}}`, job{}, ErrInvalidPayload, "want a Go duration like 72h or whole days like 7d"},
		{"olderThan a number", `{"sweep":{"olderThan":72}}`, job{}, ErrInvalidPayload, `"sweep.olderThan" is "72", want a string`},
		{"targetType unknown", `{"sweep":{"targetType":"User"}}`, job{}, ErrInvalidPayload, `invalid target type "User": want Account or Email`},
		{"targetEntity bad glob", `{"sweep":{"targetEntity":"[a-"}}`, job{}, ErrInvalidPayload, `"sweep.targetEntity": "[a-" is not a valid glob`},
		{"targetEntity too long", `{"sweep":{"targetEntity":"` + strings.Repeat("x", janitor.MaxGlobBytes+1) + `"}}`, job{}, ErrInvalidPayload, "over the limit of 256"},
		{"JSON array", `["` + id1 + `"]`, job{}, ErrInvalidPayload, "the payload is a JSON array"},
		{"truncated JSON", `{"handshakeIds":["` + id1, job{}, ErrInvalidPayload, "starts like a JSON object but is not one"},
		{"trailing garbage", `{"handshakeId":"` + id1 + `"} x`, job{}, ErrInvalidPayload, "invalid character 'x' after top-level value"},
		{"bad JSON string", `"` + id1, job{}, ErrInvalidPayload, "starts like a JSON string but is not one"},
		{"JSON string in a JSON string", `"\"` + id1 + `\""`, job{}, ErrInvalidPayload, "a JSON string inside a JSON string"},
		{"invalid UTF-8", id1 + " h-\xff\xfe", job{}, ErrInvalidPayload, "not valid UTF-8 (bad byte at offset 21)"},
		{"invalid UTF-8 in JSON", `{"handshakeId":"h-` + "\xc3\x28" + `"}`, job{}, ErrInvalidPayload, "not valid UTF-8"},
		{"deeply nested JSON", `{"handshakeIds":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}", job{}, ErrInvalidPayload, "nested too deeply at byte"},
		{"deeply nested sweep", `{"sweep":` + strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000) + "}", job{}, ErrInvalidPayload, `unknown field "a" in "sweep"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDirect([]byte(tt.in))
			if tt.wantErr != nil || tt.has != "" {
				checkErr(t, "parseDirect", err, tt.wantErr, tt.has)
				return
			}
			if err != nil {
				t.Fatalf("parseDirect: %v", err)
			}
			checkJob(t, got, tt.want)
			checkInvariants(t, Decoded{Trigger: Direct, Job: got}, nil)
		})
	}
}

func TestParsePayloadLimits(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantIDs int
		wantErr error
		has     string
	}{
		{"1000 IDs as text", nIDs(MaxIDs, ","), MaxIDs, nil, ""},
		{"1001 IDs as text", nIDs(MaxIDs+1, "\n"), 0, ErrTooManyIDs, "names 1001 invitations, more than the limit of 1000"},
		{"1000 IDs as JSON", `{"handshakeIds":["` + nIDs(MaxIDs, `","`) + `"]}`, MaxIDs, nil, ""},
		{"1001 IDs as JSON", `{"handshakeIds":["` + nIDs(MaxIDs, `","`) + `"],"handshakeId":"` + id1 + `"}`, 0, ErrTooManyIDs, "names 1001 invitations"},
		{"many empty fields are not IDs", id1 + strings.Repeat(", ", 5000), 1, nil, ""},
		{"exactly 256 KiB", id1 + strings.Repeat(" ", MaxPayloadBytes-len(id1)), 1, nil, ""},
		{"256 KiB and one byte", id1 + strings.Repeat(" ", MaxPayloadBytes-len(id1)+1), 0, ErrTooLarge, "the payload is 262145 bytes, over the limit of 262144 (256 KiB)"},
		{"10 MB", strings.Repeat("h-", 5<<20), 0, ErrTooLarge, "over the limit of 262144"},
		{"one huge token", strings.Repeat("h", MaxPayloadBytes), 1, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDirect([]byte(tt.in))
			if tt.wantErr != nil {
				checkErr(t, "parseDirect", err, tt.wantErr, tt.has)
				return
			}
			if err != nil {
				t.Fatalf("parseDirect: %v", err)
			}
			if len(got.Items) != 1 || len(got.Items[0].IDs) != tt.wantIDs {
				t.Fatalf("got %d items, want one with %d IDs", len(got.Items), tt.wantIDs)
			}
			checkInvariants(t, Decoded{Trigger: Direct, Job: got}, nil)
		})
	}
}

// A huge hostile value is quoted in an error only in part.
func TestErrorsQuoteHostileValuesBriefly(t *testing.T) {
	hostile := strings.Repeat("\x1b[31m\n", 10000)
	for _, in := range []string{
		`{"` + strings.ReplaceAll(hostile, "\n", `\n`) + `":1}`,
		`{"handshakeIds":"` + strings.ReplaceAll(hostile, "\n", `\n`) + `"}`,
		`[` + strings.Repeat(`"x",`, 10000) + `"x"]`,
	} {
		_, err := parseDirect([]byte(in))
		if err == nil {
			t.Fatalf("no error for %.40q", in)
		}
		checkErrText(t, "parseDirect", err)
	}
}
