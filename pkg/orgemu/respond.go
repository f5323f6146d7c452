package orgemu

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// statusClientGone marks a request whose client left before the answer; it
// is recorded in the call log (as nginx does, 499) and never written.
const statusClientGone = 499

// Exception names the emulator answers with, and their messages.
const (
	codeAccessDenied          = "AccessDeniedException"
	codeConcurrent            = "ConcurrentModificationException"
	codeAlreadyInState        = "HandshakeAlreadyInStateException"
	codeInvalidTransition     = "InvalidHandshakeTransitionException"
	codeNotFound              = "HandshakeNotFoundException"
	codeInvalidInput          = "InvalidInputException"
	codeTooManyRequests       = "TooManyRequestsException"
	codeService               = "ServiceException"
	codeDuplicateHandshake    = "DuplicateHandshakeException"
	codeConstraintViolation   = "HandshakeConstraintViolationException"
	codeMissingAuthentication = "MissingAuthenticationTokenException"
	codeIncompleteSignature   = "IncompleteSignatureException"
	codeUnrecognizedClient    = "UnrecognizedClientException"
	codeInvalidSignature      = "InvalidSignatureException"
	codeExpiredToken          = "ExpiredTokenException"

	msgAccessDenied    = "You don't have permissions to access this resource."
	msgConcurrent      = "AWS Organizations can't complete your request because it conflicts with another attempt to modify the same entity. Try again later."
	msgNotFound        = "We can't find a handshake with the HandshakeId that you specified."
	msgTooManyRequests = "AWS Organizations can't complete your request because another request is already in progress. Try again later."
	msgService         = "AWS Organizations can't complete your request because of an internal service error. Try again later."
)

// statusOf is the HTTP status the service model gives each exception
// (its httpError trait); the front door's authentication errors are 400.
var statusOf = map[string]int{
	codeAccessDenied:        http.StatusForbidden,
	codeConcurrent:          http.StatusConflict,
	codeAlreadyInState:      http.StatusConflict,
	codeInvalidTransition:   http.StatusConflict,
	codeNotFound:            http.StatusNotFound,
	codeInvalidInput:        http.StatusBadRequest,
	codeTooManyRequests:     http.StatusTooManyRequests,
	codeService:             http.StatusInternalServerError,
	codeDuplicateHandshake:  http.StatusConflict,
	codeConstraintViolation: http.StatusConflict,
}

// response is the answer to one request before it is encoded.
type response struct {
	status  int
	code    string // exception name; empty on success
	message string
	// modelled errors carry "Message" (the model's member); the front
	// door's (authentication, protocol) carry "message".
	frontDoor bool
	reason    string // InvalidInputException's Reason

	body any // success: the output shape

	drop bool // close the connection instead of answering
}

func errorResponse(status int, code, message string) response {
	return response{status: status, code: code, message: message}
}

// apiError answers a modelled exception with its status.
func apiError(code, message string) response {
	return response{status: statusOf[code], code: code, message: message}
}

func invalidInput(reason, message string) response {
	r := apiError(codeInvalidInput, message)
	r.reason = reason
	return r
}

// frontDoorError answers an error of the AWS front door, before the service
// sees the request: HTTP 400, lower-case "message".
func frontDoorError(code, message string) *response {
	return &response{status: http.StatusBadRequest, code: code, message: message, frontDoor: true}
}

func ok(body any) response { return response{status: http.StatusOK, body: body} }

// write encodes resp as the service does.
func write(w http.ResponseWriter, requestID string, resp response) {
	var v any = resp.body
	if resp.code != "" {
		e := map[string]string{"__type": resp.code}
		switch {
		case resp.frontDoor:
			if resp.message != "" {
				e["message"] = resp.message
			}
		default:
			e["Message"] = resp.message
		}
		if resp.reason != "" {
			e["Reason"] = resp.reason
		}
		v = e
	}
	body, err := json.Marshal(v)
	if err != nil {
		// Only a broken invariant gets here (every value is plain data).
		resp.status = http.StatusInternalServerError
		body = []byte(`{"__type":"ServiceException","Message":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-amzn-RequestId", requestID)
	w.WriteHeader(resp.status)
	w.Write(body)
}
