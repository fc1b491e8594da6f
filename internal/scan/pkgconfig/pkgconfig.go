// Package pkgconfig reads and writes the signed configuration that the
// server appends to a scanner binary to make a per-tenant scan package.
//
// The server never compiles: it takes a platform binary made by the
// release build and appends a trailer. The scanner reads the trailer from
// its own executable at start and verifies the signature before using it.
// The layout, from the end of the file backwards, is
//
//	payload (JSON) | signature (64) | public key (32) | payload length (8, big-endian) | magic "TANSACF1"
//
// The signature is ed25519 over Context followed by the payload, so a
// signature made for anything else cannot be replayed here. Executables
// ignore bytes after their last section on Windows (PE), Linux (ELF) and
// macOS (Mach-O), so the binary runs unchanged.
package pkgconfig

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic ends every trailer.
const Magic = "TANSACF1"

// Context is signed before the payload.
const Context = "tansa scan package configuration v1\x00"

// MaxPayload bounds the configuration (its IOC package included), so that
// a damaged length field cannot make the scanner read a whole disk.
const MaxPayload = 16 << 20

const fixed = ed25519.SignatureSize + ed25519.PublicKeySize + 8 + len(Magic)

// ErrNone reports a binary without an appended configuration.
var ErrNone = errors.New("no appended configuration")

// Trailer returns the bytes to append to a binary to give it payload,
// signed with key.
func Trailer(payload []byte, key ed25519.PrivateKey) ([]byte, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("package configuration: %d bytes exceeds the %d-byte limit", len(payload), MaxPayload)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("package configuration: signing key has the wrong size")
	}
	sig := ed25519.Sign(key, append([]byte(Context), payload...))
	out := make([]byte, 0, len(payload)+fixed)
	out = append(out, payload...)
	out = append(out, sig...)
	out = append(out, key.Public().(ed25519.PublicKey)...)
	out = binary.BigEndian.AppendUint64(out, uint64(len(payload)))
	return append(out, Magic...), nil
}

// Read finds the trailer at the end of r (size bytes long) and verifies
// its signature: against pinned when it is set (a scanner built for one
// server), otherwise against the key the trailer carries, which catches
// damage but not a substituted key. It returns ErrNone when r has no
// trailer, and a descriptive error for a damaged or forged one.
func Read(r io.ReaderAt, size int64, pinned ed25519.PublicKey) (payload []byte, signer ed25519.PublicKey, err error) {
	if size < int64(fixed) {
		return nil, nil, ErrNone
	}
	tail := make([]byte, fixed)
	if _, err := r.ReadAt(tail, size-int64(fixed)); err != nil {
		return nil, nil, fmt.Errorf("package configuration: read trailer: %w", err)
	}
	if !bytes.Equal(tail[fixed-len(Magic):], []byte(Magic)) {
		return nil, nil, ErrNone
	}
	n := binary.BigEndian.Uint64(tail[fixed-len(Magic)-8 : fixed-len(Magic)])
	if n > MaxPayload || int64(n) > size-int64(fixed) {
		return nil, nil, fmt.Errorf("package configuration: length %d does not fit in a %d-byte file (damaged trailer)", n, size)
	}
	sig := tail[:ed25519.SignatureSize]
	signer = ed25519.PublicKey(bytes.Clone(tail[ed25519.SignatureSize : ed25519.SignatureSize+ed25519.PublicKeySize]))
	payload = make([]byte, n)
	if _, err := r.ReadAt(payload, size-int64(fixed)-int64(n)); err != nil {
		return nil, nil, fmt.Errorf("package configuration: read payload: %w", err)
	}
	if pinned != nil && !bytes.Equal(pinned, signer) {
		return nil, nil, errors.New("package configuration: signed by a key other than the one this scanner trusts")
	}
	if !ed25519.Verify(signer, append([]byte(Context), payload...), sig) {
		return nil, nil, errors.New("package configuration: signature does not verify (the package was altered)")
	}
	return payload, signer, nil
}
