package fleet

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// Keys are the server's two key pairs for sweeps: the age X25519 identity
// that results are sealed to (its recipient goes into packages and is
// shown in the console for `tansa scan --out`), and the ed25519 key that
// signs package configurations.
type Keys struct {
	Identity *age.X25519Identity
	Signer   ed25519.PrivateKey
}

// Recipient returns the age public key ("age1…") results are sealed to.
func (k *Keys) Recipient() string { return k.Identity.Recipient().String() }

// SignerPublic returns the package-signing public key, base64.
func (k *Keys) SignerPublic() string {
	return base64.StdEncoding.EncodeToString(k.Signer.Public().(ed25519.PublicKey))
}

// The key files inside the directory LoadKeys is given.
const (
	identityFile = "sweep-identity.age"
	signerFile   = "package-signing.key"
)

// LoadKeys reads the key pairs from dir, generating (mode 0600) those that
// do not exist yet, so that the first start of a server makes them and
// every later start finds the same ones.
func LoadKeys(dir string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fleet keys: %w", err)
	}
	k := &Keys{}
	idPath := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(idPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, fmt.Errorf("fleet keys: generate identity: %w", err)
		}
		if err := writeNew(idPath, []byte("# Tansa sweep results are sealed to "+id.Recipient().String()+"\n"+id.String()+"\n")); err != nil {
			return nil, err
		}
		k.Identity = id
	case err != nil:
		return nil, fmt.Errorf("fleet keys: %w", err)
	default:
		ids, err := age.ParseIdentities(strings.NewReader(string(b)))
		if err != nil || len(ids) != 1 {
			return nil, fmt.Errorf("fleet keys: %s is not one age X25519 identity: %v", idPath, err)
		}
		x, ok := ids[0].(*age.X25519Identity)
		if !ok {
			return nil, fmt.Errorf("fleet keys: %s is not an X25519 identity", idPath)
		}
		k.Identity = x
	}
	sPath := filepath.Join(dir, signerFile)
	b, err = os.ReadFile(sPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("fleet keys: generate signing key: %w", err)
		}
		if err := writeNew(sPath, []byte(base64.StdEncoding.EncodeToString(priv.Seed())+"\n")); err != nil {
			return nil, err
		}
		k.Signer = priv
	case err != nil:
		return nil, fmt.Errorf("fleet keys: %w", err)
	default:
		seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("fleet keys: %s is not a base64 ed25519 seed", sPath)
		}
		k.Signer = ed25519.NewKeyFromSeed(seed)
	}
	return k, nil
}

// writeNew creates path with data, failing if it exists, so that two
// servers starting on one directory cannot overwrite each other's key.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("fleet keys: %w", err)
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("fleet keys: write %s: %w", path, err)
	}
	return nil
}
