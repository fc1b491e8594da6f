package playbook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Sealer encrypts connector secrets at rest with AES-256-GCM, so that a
// copy of the database alone does not hand out EDR and mail credentials.
// It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a sealer with a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// LoadOrCreateKey reads a 32-byte key from path, creating it (mode 0600)
// with random bytes the first time. Every node of a cluster needs the
// same file.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("secret key %s: not 32 bytes of base64", path)
		}
		return key, nil
	}
	if !os.IsNotExist(err) {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if os.IsExist(err) {
			return LoadOrCreateKey(path) // another process made it first
		}
		return nil, fmt.Errorf("secret key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	return key, f.Sync()
}

// Seal encrypts a connector's secret fields.
func (s *Sealer) Seal(secrets map[string]string) ([]byte, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	ct := s.aead.Seal(nonce, nonce, plain, []byte("tansa-connector"))
	return []byte("v1:" + base64.StdEncoding.EncodeToString(ct)), nil
}

// Open decrypts what Seal made.
func (s *Sealer) Open(sealed []byte) (map[string]string, error) {
	out := map[string]string{}
	if len(sealed) == 0 {
		return out, nil
	}
	enc, ok := strings.CutPrefix(string(sealed), "v1:")
	if !ok {
		return nil, fmt.Errorf("sealed secret: unknown format")
	}
	ct, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(ct) < s.aead.NonceSize() {
		return nil, fmt.Errorf("sealed secret: malformed")
	}
	plain, err := s.aead.Open(nil, ct[:s.aead.NonceSize()], ct[s.aead.NonceSize():], []byte("tansa-connector"))
	if err != nil {
		return nil, fmt.Errorf("sealed secret: cannot decrypt (was the secret key changed?)")
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, err
	}
	return out, nil
}
