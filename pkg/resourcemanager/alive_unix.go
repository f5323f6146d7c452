//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package resourcemanager

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether an idle connection can still be used: the peer has
// neither closed it nor sent anything unasked. It peeks at the socket
// without blocking (one recvfrom), as http.Transport's idle reader would
// have noticed.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read is what a live idle connection looks like. No
		// error means a read would return the peer's FIN (0 bytes) or an
		// answer nobody asked for: either way the connection is done.
		ok = errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR)
		return true
	})
	return err == nil && ok
}
