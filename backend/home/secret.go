package home

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

const keySize = 32 // AES-256

// SecretBox seals secrets (job passwords) with AES-256-GCM under the key in
// FERRY_HOME/secret.key. It satisfies engine.SecretBox.
type SecretBox struct {
	aead cipher.AEAD
}

// ErrNoSecretKey: FERRY_HOME/secret.key does not exist.
var ErrNoSecretKey = errors.New("the secret key file is missing")

// SecretBox loads the key, creating a random one (mode 0600) when there is
// none. Only call it when no sealed secret exists (the store knows): a new
// key cannot open what the lost one sealed, so making one while sealed
// secrets remain would orphan them silently. LoadSecretBox never creates.
func (h Home) SecretBox() (*SecretBox, error) {
	return h.secretBox(true)
}

// LoadSecretBox loads the existing key; ErrNoSecretKey when there is none.
func (h Home) LoadSecretBox() (*SecretBox, error) {
	return h.secretBox(false)
}

func (h Home) secretBox(create bool) (*SecretBox, error) {
	key, err := h.loadKey(create)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &SecretBox{aead: aead}, nil
}

func (h Home) loadKey(create bool) ([]byte, error) {
	path := h.SecretKeyFile()
	for range 2 {
		key, err := os.ReadFile(path)
		if err == nil {
			if len(key) != keySize {
				return nil, fmt.Errorf("secret key %s has %d bytes, want %d", path, len(key), keySize)
			}
			// Whoever widened its mode should not keep the wider one.
			if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
				_ = os.Chmod(path, 0o600)
			}
			return key, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read secret key: %w", err)
		}
		if !create {
			return nil, fmt.Errorf("secret key %s: %w", path, ErrNoSecretKey)
		}
		key = make([]byte, keySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("make secret key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // made by someone else meanwhile: read theirs
		}
		if err != nil {
			return nil, fmt.Errorf("create secret key: %w", err)
		}
		_, werr := f.Write(key)
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("write secret key: %w", err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("secret key %s: could not be created or read", path)
}

// Seal encrypts plaintext; additional data is authenticated, not stored.
func (b *SecretBox) Seal(plaintext, additional []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plaintext, additional), nil
}

// Open decrypts what Seal returned, checking the additional data.
func (b *SecretBox) Open(sealed, additional []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, errors.New("open: sealed secret too short")
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], additional)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return plain, nil
}
