package rmemu_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

func TestCancelHandshakeAnswersEveryCodeOfTheReference(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	now := e.clock.Now()
	e.seed(t,
		pending("h-0PendingAAAA0001", time.Hour, now),
		handshake.Handshake{HandshakeID: "h-0AcceptedAAAA001", Status: handshake.StatusAccepted},
		handshake.Handshake{HandshakeID: "h-0CancelledAAA001", Status: handshake.StatusCancelled},
		handshake.Handshake{HandshakeID: "h-0DeclinedAAAA001", Status: handshake.StatusDeclined},
		handshake.Handshake{HandshakeID: "h-0ExpiredAAAAA001", Status: handshake.StatusExpired},
		pending("h-0TimedOutAAAA001", rmemu.ValidFor+time.Second, now),
	)
	tests := []struct {
		name    string
		params  []string
		status  int
		code    string
		message string
	}{
		{"no HandshakeId", nil, 400, "MissingParameter.HandshakeId", "You must specify HandshakeId."},
		{"empty HandshakeId", []string{"HandshakeId", ""}, 400, "MissingParameter.HandshakeId", "You must specify HandshakeId."},
		{"too short", []string{"HandshakeId", "h-ycm4rp"}, 400, "InvalidParameter.HandshakeId", "The HandshakeId is invalid."},
		{"too long", []string{"HandshakeId", "h-ycm4rp0123456789a"}, 400, "InvalidParameter.HandshakeId", "The HandshakeId is invalid."},
		{"masked like the docs", []string{"HandshakeId", "h-ycm4rp**********"}, 400, "InvalidParameter.HandshakeId", "The HandshakeId is invalid."},
		{"wrong prefix", []string{"HandshakeId", "rd-ycm4rp012345678"}, 400, "InvalidParameter.HandshakeId", "The HandshakeId is invalid."},
		{"space inside", []string{"HandshakeId", "h-ycm4rp 123456789"}, 400, "InvalidParameter.HandshakeId", "The HandshakeId is invalid."},
		{"unknown", []string{"HandshakeId", "h-0NoSuchInvite001"}, 404, "EntityNotExists.Handshake", "The specified handshake does not exist."},
		{"same letters other case", []string{"HandshakeId", "h-0pendingaaaa0001"}, 404, "EntityNotExists.Handshake", "The specified handshake does not exist."},
		{"accepted", []string{"HandshakeId", "h-0AcceptedAAAA001"}, 409, "HandshakeStatusMismatch", "The invitation is invalid."},
		{"cancelled", []string{"HandshakeId", "h-0CancelledAAA001"}, 409, "HandshakeStatusMismatch", "The invitation is invalid."},
		{"declined", []string{"HandshakeId", "h-0DeclinedAAAA001"}, 409, "HandshakeStatusMismatch", "The invitation is invalid."},
		{"expired", []string{"HandshakeId", "h-0ExpiredAAAAA001"}, 409, "HandshakeStatusMismatch", "The invitation is invalid."},
		{"pending past ExpireTime", []string{"HandshakeId", "h-0TimedOutAAAA001"}, 409, "HandshakeStatusMismatch", "The invitation is invalid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, call{Action: "CancelHandshake", Params: params(tt.params...)})
			wantError(t, resp, body, tt.status, tt.code, tt.message)
		})
	}
	if got := e.srv.Status("h-0AcceptedAAAA001"); got != handshake.StatusAccepted {
		t.Errorf("a refused cancel changed the status to %s", got)
	}
}

func TestCancelHandshakeCancelsAPendingInvitationOnce(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	created := e.clock.Now().Add(-9 * 24 * time.Hour)
	e.seed(t, handshake.Handshake{HandshakeID: "h-ycm4rpAbCdEf0123", TargetEntity: "someone@example.com", Note: "Welcome", CreateTime: created})
	e.clock.Advance(time.Minute)

	resp, body := e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", "h-ycm4rpAbCdEf0123")})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	got := decode[handshakeBody](t, body)
	if !requestIDPattern.MatchString(got.RequestID) || resp.Header.Get("x-acs-request-id") != got.RequestID {
		t.Errorf("RequestId %q (header %q): want the same upper-case UUID", got.RequestID, resp.Header.Get("x-acs-request-id"))
	}
	want := handshake.Handshake{
		HandshakeID:         "h-ycm4rpAbCdEf0123",
		ResourceDirectoryID: rmemu.DefaultResourceDirectoryID,
		MasterAccountID:     rmemu.DefaultMasterAccountID,
		MasterAccountName:   rmemu.DefaultMasterAccountName,
		TargetEntity:        "someone@example.com",
		TargetType:          handshake.TargetEmail,
		Note:                "Welcome",
		Status:              handshake.StatusCancelled,
		CreateTime:          created,
		ModifyTime:          e.clock.Now(),
		ExpireTime:          created.Add(rmemu.ValidFor),
	}
	if got.Handshake != want {
		t.Errorf("Handshake =\n%+v\nwant\n%+v", got.Handshake, want)
	}
	if stored, _ := e.srv.Get("h-ycm4rpAbCdEf0123"); stored != want {
		t.Errorf("Get = %+v, want %+v", stored, want)
	}
	for _, field := range []string{`"RequestId"`, `"Handshake"`, `"HandshakeId"`, `"ResourceDirectoryId"`, `"MasterAccountId"`, `"ModifyTime"`, `"ExpireTime"`} {
		if !strings.Contains(string(body), field) {
			t.Errorf("body lacks %s: %s", field, body)
		}
	}

	resp, body = e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", "h-ycm4rpAbCdEf0123")})
	wantError(t, resp, body, http.StatusConflict, "HandshakeStatusMismatch", "The invitation is invalid.")
}

func TestFormatXMLAnswersLikeTheReferenceSample(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	e.seed(t, pending("h-0XmlPending00001", time.Hour, e.clock.Now()))

	for _, auth := range []string{authV3, authRPC} {
		t.Run(auth, func(t *testing.T) {
			e.srv.Seed(pending("h-0XmlPending00001", time.Hour, e.clock.Now()))
			resp, body := e.do(t, call{Auth: auth, Action: "CancelHandshake", Params: params("HandshakeId", "h-0XmlPending00001", "Format", "XML")})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, body %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
				t.Errorf("Content-Type = %q, want application/xml", ct)
			}
			var got struct {
				XMLName   xml.Name
				RequestID string              `xml:"RequestId"`
				Handshake handshake.Handshake `xml:"Handshake"`
			}
			if err := xml.Unmarshal(body, &got); err != nil {
				t.Fatalf("XML: %v; body %s", err, body)
			}
			if got.XMLName.Local != "CancelHandshakeResponse" || !requestIDPattern.MatchString(got.RequestID) {
				t.Errorf("root %q RequestId %q", got.XMLName.Local, got.RequestID)
			}
			if got.Handshake.HandshakeID != "h-0XmlPending00001" || got.Handshake.Status != handshake.StatusCancelled {
				t.Errorf("Handshake = %+v", got.Handshake)
			}
			if !strings.Contains(string(body), "<Status>Cancelled</Status>") || !strings.Contains(string(body), "<TargetType>Email</TargetType>") {
				t.Errorf("body %s", body)
			}

			resp, body = e.do(t, call{Auth: auth, Action: "CancelHandshake", Params: params("HandshakeId", "h-0XmlPending00001", "Format", "xml")})
			if resp.StatusCode != http.StatusConflict || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
				t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var xe struct {
				XMLName xml.Name
				apiError
			}
			if err := xml.Unmarshal(body, &xe); err != nil {
				t.Fatalf("XML error: %v; body %s", err, body)
			}
			if xe.XMLName.Local != "Error" || xe.Code != "HandshakeStatusMismatch" || xe.Message != "The invitation is invalid." ||
				xe.HostID != rmemu.HostID || xe.Recommend == "" || !requestIDPattern.MatchString(xe.RequestID) {
				t.Errorf("XML error = %+v", xe)
			}
		})
	}
}

func TestPendingPastExpireTimeReadsAsExpired(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	e.seed(t, pending("h-0WillExpire00001", 0, e.clock.Now()))

	get := func() handshake.Handshake {
		resp, body := e.do(t, call{Action: "GetHandshake", Params: params("HandshakeId", "h-0WillExpire00001")})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GetHandshake: %d %s", resp.StatusCode, body)
		}
		return decode[handshakeBody](t, body).Handshake
	}
	if got := get().Status; got != handshake.StatusPending {
		t.Fatalf("status at creation = %s", got)
	}
	e.clock.Advance(rmemu.ValidFor - time.Second)
	if got := get().Status; got != handshake.StatusPending {
		t.Fatalf("status a second before expiry = %s", got)
	}
	e.clock.Advance(time.Second)
	if got := get().Status; got != handshake.StatusExpired {
		t.Fatalf("status at ExpireTime = %s, want Expired", got)
	}
	resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory"})
	if l := decode[listBody](t, body); resp.StatusCode != 200 || len(l.Handshakes.Handshake) != 1 || l.Handshakes.Handshake[0].Status != handshake.StatusExpired {
		t.Errorf("List = %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", "h-0WillExpire00001")})
	wantError(t, resp, body, http.StatusConflict, "HandshakeStatusMismatch", "")
	resp, body = e.do(t, call{Action: "AcceptHandshake", Params: params("HandshakeId", "h-0WillExpire00001")})
	wantError(t, resp, body, http.StatusConflict, "HandshakeStatusMismatch", "")
}

func TestListHandshakesPagesInStableOrder(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	var want []string
	for i := range 250 {
		id := fmt.Sprintf("h-Page%012d", i)
		want = append(want, id)
		e.seed(t, pending(id, time.Hour, e.clock.Now()))
	}

	t.Run("pages of 100 cover everything once, in order", func(t *testing.T) {
		var got []string
		for page := 1; page <= 4; page++ {
			resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory", Params: params("PageNumber", fmt.Sprint(page), "PageSize", "100")})
			if resp.StatusCode != 200 {
				t.Fatalf("page %d: %d %s", page, resp.StatusCode, body)
			}
			l := decode[listBody](t, body)
			if l.PageNumber != page || l.PageSize != 100 || l.TotalCount != 250 || !requestIDPattern.MatchString(l.RequestID) {
				t.Errorf("page %d header = %+v", page, l)
			}
			wantLen := []int{100, 100, 50, 0}[page-1]
			if len(l.Handshakes.Handshake) != wantLen {
				t.Errorf("page %d holds %d, want %d", page, len(l.Handshakes.Handshake), wantLen)
			}
			for _, h := range l.Handshakes.Handshake {
				got = append(got, h.HandshakeID)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("pages do not list every invitation once in seed order")
		}
	})

	t.Run("defaults to page 1 of 10", func(t *testing.T) {
		_, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory"})
		l := decode[listBody](t, body)
		if l.PageNumber != 1 || l.PageSize != 10 || len(l.Handshakes.Handshake) != 10 || l.Handshakes.Handshake[0].HandshakeID != want[0] {
			t.Errorf("default page = %d/%d with %d", l.PageNumber, l.PageSize, len(l.Handshakes.Handshake))
		}
	})

	t.Run("an empty page is an empty array", func(t *testing.T) {
		_, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory", Params: params("PageNumber", "99", "PageSize", "100")})
		if !strings.Contains(string(body), `"Handshakes":{"Handshake":[]}`) {
			t.Errorf("body %s", body)
		}
	})

	t.Run("cancelling keeps positions", func(t *testing.T) {
		e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", want[5])})
		_, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory", Params: params("PageSize", "10")})
		l := decode[listBody](t, body)
		if h := l.Handshakes.Handshake[5]; h.HandshakeID != want[5] || h.Status != handshake.StatusCancelled {
			t.Errorf("entry 5 = %s %s", h.HandshakeID, h.Status)
		}
	})

	bad := []struct{ name, param, value, code string }{
		{"page size 0", "PageSize", "0", "InvalidParameter.PageSize"},
		{"page size 101", "PageSize", "101", "InvalidParameter.PageSize"},
		{"page size text", "PageSize", "ten", "InvalidParameter.PageSize"},
		{"page number 0", "PageNumber", "0", "InvalidParameter.PageNumber"},
		{"page number negative", "PageNumber", "-1", "InvalidParameter.PageNumber"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory", Params: params(tt.param, tt.value)})
			wantError(t, resp, body, http.StatusBadRequest, tt.code, "")
		})
	}

	t.Run("XML lists Handshakes/Handshake", func(t *testing.T) {
		resp, body := e.do(t, call{Action: "ListHandshakesForResourceDirectory", Params: params("PageSize", "3", "Format", "XML")})
		var l struct {
			XMLName    xml.Name
			TotalCount int                   `xml:"TotalCount"`
			Handshakes []handshake.Handshake `xml:"Handshakes>Handshake"`
		}
		if err := xml.Unmarshal(body, &l); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %v %s", resp.StatusCode, err, body)
		}
		if l.XMLName.Local != "ListHandshakesForResourceDirectoryResponse" || l.TotalCount != 250 || len(l.Handshakes) != 3 {
			t.Errorf("XML list = %s %d %d", l.XMLName.Local, l.TotalCount, len(l.Handshakes))
		}
	})
}

func TestInviteAcceptDecline(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	invite := func(entity, typ, note string) handshake.Handshake {
		t.Helper()
		resp, body := e.do(t, call{Action: "InviteAccountToResourceDirectory", Params: params("TargetEntity", entity, "TargetType", typ, "Note", note)})
		if resp.StatusCode != 200 {
			t.Fatalf("invite: %d %s", resp.StatusCode, body)
		}
		return decode[handshakeBody](t, body).Handshake
	}
	note := "Welcome * to ~ the + team: 100% ünïcode & more"
	h := invite("someone@example.com", "Email", note)
	if _, err := handshake.ParseID(h.HandshakeID); err != nil {
		t.Errorf("new ID: %v", err)
	}
	now := e.clock.Now()
	if h.Status != handshake.StatusPending || h.Note != note || h.TargetType != handshake.TargetEmail ||
		!h.CreateTime.Equal(now) || !h.ExpireTime.Equal(now.Add(14*24*time.Hour)) || h.ResourceDirectoryID != rmemu.DefaultResourceDirectoryID {
		t.Errorf("invitation = %+v", h)
	}
	if got, ok := e.srv.Get(h.HandshakeID); !ok || got != h {
		t.Errorf("Get = %+v %v", got, ok)
	}
	other := invite("1234567890123456", "Account", "")
	if other.HandshakeID == h.HandshakeID {
		t.Errorf("two invitations share ID %s", h.HandshakeID)
	}

	tests := []struct {
		action string
		id     string
		want   handshake.Status
	}{
		{"AcceptHandshake", h.HandshakeID, handshake.StatusAccepted},
		{"DeclineHandshake", other.HandshakeID, handshake.StatusDeclined},
	}
	for _, tt := range tests {
		resp, body := e.do(t, call{Action: tt.action, Params: params("HandshakeId", tt.id)})
		if got := decode[handshakeBody](t, body).Handshake.Status; resp.StatusCode != 200 || got != tt.want {
			t.Errorf("%s: %d %s", tt.action, resp.StatusCode, body)
		}
		resp, body = e.do(t, call{Action: "CancelHandshake", Params: params("HandshakeId", tt.id)})
		wantError(t, resp, body, http.StatusConflict, "HandshakeStatusMismatch", "")
	}

	bad := []struct {
		name   string
		params []string
		code   string
	}{
		{"no target", []string{"TargetType", "Email"}, "MissingParameter.TargetEntity"},
		{"no type", []string{"TargetEntity", "x@example.com"}, "MissingParameter.TargetType"},
		{"bad type", []string{"TargetEntity", "x@example.com", "TargetType", "Phone"}, "InvalidParameter.TargetType"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, call{Action: "InviteAccountToResourceDirectory", Params: params(tt.params...)})
			wantError(t, resp, body, http.StatusBadRequest, tt.code, "")
		})
	}
}

func TestGetHandshakeCodes(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	e.seed(t, pending("h-0GetMe0000000001", time.Hour, e.clock.Now()))
	resp, body := e.do(t, call{Action: "GetHandshake", Params: params("HandshakeId", "h-0GetMe0000000001")})
	if got := decode[handshakeBody](t, body); resp.StatusCode != 200 || got.Handshake.HandshakeID != "h-0GetMe0000000001" {
		t.Errorf("Get: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, call{Action: "GetHandshake"})
	wantError(t, resp, body, 400, "MissingParameter.HandshakeId", "You must specify HandshakeId.")
	resp, body = e.do(t, call{Action: "GetHandshake", Params: params("HandshakeId", "nope")})
	wantError(t, resp, body, 400, "InvalidParameter.HandshakeId", "The HandshakeId is invalid.")
	resp, body = e.do(t, call{Action: "GetHandshake", Params: params("HandshakeId", "h-0Missing00000001")})
	wantError(t, resp, body, 404, "EntityNotExists.Handshake", "The specified handshake does not exist.")
}

func TestRequestShapeErrors(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	tests := []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"unknown action", call{Action: "DeleteEverything"}, 404, "InvalidAction.NotFound"},
		{"no action", call{Action: ""}, 400, "MissingAction"},
		{"other version", call{Action: "CancelHandshake", Version: "2016-11-11"}, 400, "InvalidVersion"},
		{"no version", call{Action: "CancelHandshake", Version: "-"}, 400, "MissingVersion"},
		{"PUT", call{Action: "CancelHandshake", Method: http.MethodPut}, 400, "UnsupportedHTTPMethod"},
		{"other path", call{Action: "CancelHandshake", Mutate: func(r *http.Request) { r.URL.Path = "/v1/handshakes" }}, 404, "InvalidAction.NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, tt.c)
			wantError(t, resp, body, tt.status, tt.code, "")
		})
	}
}

func TestParametersInAFormBody(t *testing.T) {
	e := newEnv(t, rmemu.Options{})
	for i, auth := range []string{authV3, authRPC} {
		id := fmt.Sprintf("h-FormBody%08d", i)
		e.seed(t, pending(id, time.Hour, e.clock.Now()))
		t.Run(auth, func(t *testing.T) {
			resp, body := e.do(t, call{Auth: auth, Form: true, Action: "CancelHandshake", Params: params("HandshakeId", id)})
			if resp.StatusCode != 200 || decode[handshakeBody](t, body).Handshake.Status != handshake.StatusCancelled {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
}
