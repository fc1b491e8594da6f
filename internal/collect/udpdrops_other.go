//go:build !linux

package collect

import "net"

// udpDrops: only Linux reports the datagrams its socket buffer dropped.
func udpDrops(*net.UDPConn) bool { return false }

func dropCount([]byte) (uint32, bool) { return 0, false }
