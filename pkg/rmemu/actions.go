package rmemu

import (
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// handshakeParam reads and validates HandshakeId exactly as the
// CancelHandshake reference documents.
func handshakeParam(q *request) (handshake.ID, *response) {
	raw, ok := q.param("HandshakeId")
	if !ok || raw == "" {
		r := errorResponse(http.StatusBadRequest, "MissingParameter.HandshakeId", "You must specify HandshakeId.")
		return "", &r
	}
	id, err := handshake.ParseID(raw)
	if err != nil {
		r := errorResponse(http.StatusBadRequest, "InvalidParameter.HandshakeId", "The HandshakeId is invalid.")
		return "", &r
	}
	return id, nil
}

// transition is the shared body of CancelHandshake, AcceptHandshake and
// DeclineHandshake: only a Pending invitation moves.
func (s *Server) transition(q *request, to handshake.Status) response {
	id, bad := handshakeParam(q)
	if bad != nil {
		return *bad
	}
	h, err := s.store.transition(id, to, s.clock())
	switch {
	case errors.Is(err, errNotFound):
		return errorResponse(http.StatusNotFound, "EntityNotExists.Handshake", "The specified handshake does not exist.")
	case errors.Is(err, errStatusMismatch):
		return errorResponse(http.StatusConflict, "HandshakeStatusMismatch", "The invitation is invalid.")
	}
	return response{status: http.StatusOK, handshake: &h}
}

func (s *Server) cancelHandshake(q *request) response {
	return s.transition(q, handshake.StatusCancelled)
}

func (s *Server) acceptHandshake(q *request) response {
	return s.transition(q, handshake.StatusAccepted)
}

func (s *Server) declineHandshake(q *request) response {
	return s.transition(q, handshake.StatusDeclined)
}

func (s *Server) getHandshake(q *request) response {
	id, bad := handshakeParam(q)
	if bad != nil {
		return *bad
	}
	h, ok := s.Get(string(id))
	if !ok {
		return errorResponse(http.StatusNotFound, "EntityNotExists.Handshake", "The specified handshake does not exist.")
	}
	return response{status: http.StatusOK, handshake: &h}
}

// Paging limits of ListHandshakesForResourceDirectory.
const (
	DefaultPageSize = 10
	MaxPageSize     = 100
)

func (s *Server) listHandshakes(q *request) response {
	number, size := 1, DefaultPageSize
	if v, ok := q.param("PageNumber"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errorResponse(http.StatusBadRequest, "InvalidParameter.PageNumber", "The PageNumber is invalid. It must be an integer from 1.")
		}
		number = n
	}
	if v, ok := q.param("PageSize"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return errorResponse(http.StatusBadRequest, "InvalidParameter.PageSize", "The PageSize is invalid. It must be an integer from 1 to 100.")
		}
		size = n
	}
	p := s.store.page(number, size, s.clock())
	return response{status: http.StatusOK, list: &p}
}

// Length limits of InviteAccountToResourceDirectory's text parameters.
const (
	maxTargetEntity = 128
	maxNote         = 1024
)

func (s *Server) inviteAccount(q *request) response {
	entity, _ := q.param("TargetEntity")
	if entity == "" {
		return errorResponse(http.StatusBadRequest, "MissingParameter.TargetEntity", "You must specify TargetEntity.")
	}
	if len(entity) > maxTargetEntity || !utf8.ValidString(entity) {
		return errorResponse(http.StatusBadRequest, "InvalidParameter.TargetEntity", "The TargetEntity is invalid.")
	}
	rawType, _ := q.param("TargetType")
	if rawType == "" {
		return errorResponse(http.StatusBadRequest, "MissingParameter.TargetType", "You must specify TargetType.")
	}
	tt, err := handshake.ParseTargetType(rawType)
	if err != nil || string(tt) != rawType {
		return errorResponse(http.StatusBadRequest, "InvalidParameter.TargetType", "The TargetType is invalid. Valid values: Account, Email.")
	}
	note, _ := q.param("Note")
	if len(note) > maxNote || !utf8.ValidString(note) {
		return errorResponse(http.StatusBadRequest, "InvalidParameter.Note", "The Note is invalid.")
	}
	now := seconds(s.clock())
	h := s.store.add(handshake.Handshake{
		ResourceDirectoryID: s.rdID,
		MasterAccountID:     s.master,
		MasterAccountName:   s.name,
		TargetEntity:        entity,
		TargetType:          tt,
		Note:                note,
		Status:              handshake.StatusPending,
		CreateTime:          now,
		ModifyTime:          now,
		ExpireTime:          now.Add(ValidFor),
	})
	return response{status: http.StatusOK, handshake: &h}
}
