package pkgconfig

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

func key(t testing.TB, seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func TestRoundTripAndRefusals(t *testing.T) {
	k := key(t, 1)
	bin := []byte("\x7fELF pretend binary")
	tr, err := Trailer([]byte(`{"server":"https://t"}`), k)
	if err != nil {
		t.Fatal(err)
	}
	pkg := append(bytes.Clone(bin), tr...)
	got, signer, err := Read(bytes.NewReader(pkg), int64(len(pkg)), nil)
	if err != nil || string(got) != `{"server":"https://t"}` || !bytes.Equal(signer, k.Public().(ed25519.PublicKey)) {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if _, _, err := Read(bytes.NewReader(pkg), int64(len(pkg)), k.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("pinned to the signer: %v", err)
	}
	if _, _, err := Read(bytes.NewReader(pkg), int64(len(pkg)), key(t, 2).Public().(ed25519.PublicKey)); err == nil || !strings.Contains(err.Error(), "other than") {
		t.Errorf("pinned to another key: %v", err)
	}
	if _, _, err := Read(bytes.NewReader(bin), int64(len(bin)), nil); !errors.Is(err, ErrNone) {
		t.Errorf("plain binary: %v, want ErrNone", err)
	}
	bad := bytes.Clone(pkg)
	bad[len(bin)+3] ^= 1
	if _, _, err := Read(bytes.NewReader(bad), int64(len(bad)), nil); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("altered payload: %v", err)
	}
	// A forger who re-signs with their own key is caught only when the
	// scanner pins the server's key.
	forged, _ := Trailer([]byte(`{"server":"https://evil"}`), key(t, 3))
	fp := append(bytes.Clone(bin), forged...)
	if _, _, err := Read(bytes.NewReader(fp), int64(len(fp)), k.Public().(ed25519.PublicKey)); err == nil {
		t.Error("a package signed by another key passed a pinned scanner")
	}
}

// FuzzRead feeds arbitrary file tails to the trailer reader, which runs on
// every scanner start: it must never panic, and anything it accepts must
// carry a valid signature.
func FuzzRead(f *testing.F) {
	tr, _ := Trailer([]byte(`{"token":"x"}`), key(f, 1))
	f.Add(append([]byte("binary"), tr...))
	f.Add([]byte(Magic))
	f.Add(append(make([]byte, 104), Magic...))
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, signer, err := Read(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			return
		}
		if !ed25519.Verify(signer, append([]byte(Context), payload...), b[len(b)-fixed:len(b)-fixed+ed25519.SignatureSize]) {
			t.Fatal("accepted a trailer whose signature does not verify")
		}
	})
}
