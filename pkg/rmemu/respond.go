package rmemu

import (
	"encoding/json"
	"encoding/xml"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// statusClientGone marks a request whose client left before the answer; it
// is recorded in the call log (as nginx does, 499) and never written.
const statusClientGone = 499

// Messages the service sends with its common error codes.
const (
	msgActionNotFound     = "Specified api is not found, please check your url and method."
	msgServiceUnavailable = "The request has failed due to a temporary failure of the server."
	msgInternalError      = "The request processing has failed due to some unknown error, exception or failure."
	msgThrottlingUser     = "Request was denied due to user flow control."
)

// response is the answer to one request before it is encoded.
type response struct {
	status  int
	code    string // error code; empty on success
	message string

	handshake *handshake.Handshake // single-invitation actions
	list      *listPage            // ListHandshakesForResourceDirectory

	drop bool // close the connection instead of answering
}

type listPage struct {
	PageNumber int
	PageSize   int
	TotalCount int
	Handshakes []handshake.Handshake
}

func errorResponse(status int, code, message string) response {
	return response{status: status, code: code, message: message}
}

func missingMessage(name string) string {
	return `The input parameter "` + name + `" that is mandatory for processing this request is not supplied.`
}

// Wire shapes. Field order is the service's.
type (
	jsonError struct {
		RequestID string `json:"RequestId"`
		HostID    string `json:"HostId"`
		Code      string `json:"Code"`
		Message   string `json:"Message"`
		Recommend string `json:"Recommend"`
	}
	xmlError struct {
		XMLName   xml.Name `xml:"Error"`
		RequestID string   `xml:"RequestId"`
		HostID    string   `xml:"HostId"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		Recommend string   `xml:"Recommend"`
	}
	jsonHandshake struct {
		RequestID string              `json:"RequestId"`
		Handshake handshake.Handshake `json:"Handshake"`
	}
	xmlHandshake struct {
		XMLName   xml.Name
		RequestID string              `xml:"RequestId"`
		Handshake handshake.Handshake `xml:"Handshake"`
	}
	jsonList struct {
		RequestID  string `json:"RequestId"`
		PageNumber int    `json:"PageNumber"`
		PageSize   int    `json:"PageSize"`
		TotalCount int    `json:"TotalCount"`
		Handshakes struct {
			Handshake []handshake.Handshake `json:"Handshake"`
		} `json:"Handshakes"`
	}
	xmlList struct {
		XMLName    xml.Name
		RequestID  string                `xml:"RequestId"`
		PageNumber int                   `xml:"PageNumber"`
		PageSize   int                   `xml:"PageSize"`
		TotalCount int                   `xml:"TotalCount"`
		Handshakes []handshake.Handshake `xml:"Handshakes>Handshake"`
	}
)

// recommend is the diagnosis link the service puts in its errors.
func recommend(code, requestID string) string {
	return "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(code) +
		"&product=ResourceManager&requestId=" + requestID
}

// write encodes resp in the format the request asked for.
func (s *Server) write(w http.ResponseWriter, q *request, resp response) {
	var v any
	switch {
	case resp.code != "" && q.xml:
		v = xmlError{RequestID: q.id, HostID: HostID, Code: resp.code, Message: resp.message, Recommend: recommend(resp.code, q.id)}
	case resp.code != "":
		v = jsonError{RequestID: q.id, HostID: HostID, Code: resp.code, Message: resp.message, Recommend: recommend(resp.code, q.id)}
	case resp.list != nil && q.xml:
		v = xmlList{
			XMLName: xml.Name{Local: q.action + "Response"}, RequestID: q.id,
			PageNumber: resp.list.PageNumber, PageSize: resp.list.PageSize, TotalCount: resp.list.TotalCount,
			Handshakes: resp.list.Handshakes,
		}
	case resp.list != nil:
		l := jsonList{RequestID: q.id, PageNumber: resp.list.PageNumber, PageSize: resp.list.PageSize, TotalCount: resp.list.TotalCount}
		l.Handshakes.Handshake = resp.list.Handshakes
		if l.Handshakes.Handshake == nil {
			l.Handshakes.Handshake = []handshake.Handshake{} // [] on the wire, never null
		}
		v = l
	case q.xml:
		v = xmlHandshake{XMLName: xml.Name{Local: q.action + "Response"}, RequestID: q.id, Handshake: *resp.handshake}
	default:
		v = jsonHandshake{RequestID: q.id, Handshake: *resp.handshake}
	}

	var body []byte
	var err error
	contentType := "application/json;charset=utf-8"
	if q.xml {
		contentType = "application/xml;charset=utf-8"
		body, err = xml.Marshal(v)
		body = append([]byte(xml.Header), body...)
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		// Only a broken invariant gets here (every value is plain data);
		// answer as the service does when it fails.
		resp.status = http.StatusInternalServerError
		body = []byte(`{"Code":"InternalError"}`)
		contentType = "application/json;charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-acs-request-id", q.id)
	w.WriteHeader(resp.status)
	w.Write(body)
}

// newRequestID returns an ID shaped like the service's:
// 9B34724D-54B0-4A51-B34D-4512372FE1BE.
func newRequestID() string {
	const hexdigits = "0123456789ABCDEF"
	var b [36]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		var nibble uint64
		if i < 16 {
			nibble = hi >> (60 - 4*i) & 0xF
		} else {
			nibble = lo >> (60 - 4*(i-16)) & 0xF
		}
		b[j] = hexdigits[nibble]
		j++
	}
	return string(b[:])
}
