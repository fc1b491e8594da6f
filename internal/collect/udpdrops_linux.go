package collect

import (
	"encoding/binary"
	"net"
	"syscall"
)

// The kernel drops datagrams when a socket's receive buffer is full,
// before Tansa sees them. With SO_RXQ_OVFL set, every datagram carries
// the socket's running count of such drops, so that they are counted in
// tansa_ingest_refused_total{reason="kernel"} too (when the next datagram
// arrives: the count travels with it).

// udpDrops enables the drop count on c; it reports false when the kernel
// does not offer it.
func udpDrops(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// dropCount reads the drop count from a datagram's control messages.
func dropCount(oob []byte) (uint32, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}
