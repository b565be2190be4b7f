package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// stateFile is the file in the data directory (SSKIT_DATA_DIR) that keeps what must survive a
// restart: the last version of the node's own gossip record, so versions never go back
// (SPEC.md §9), and its malefactor bans, which hold for ever.
const stateFile = "neighborhood.json"

type savedState struct {
	Version uint64     `json:"version"`
	Bans    []savedBan `json:"bans"`
}

type savedBan struct {
	Name   string    `json:"name"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`

	name wire.Name // parsed Name
}

// stateStore reads and writes the state file; without a data directory it keeps nothing, and
// the node starts at version 1 with no bans every time.
type stateStore struct{ path string }

func newStateStore(dataDir string) *stateStore {
	if dataDir == "" {
		return &stateStore{}
	}
	return &stateStore{path: filepath.Join(dataDir, stateFile)}
}

func (s *stateStore) load() (savedState, error) {
	var st savedState
	if s.path == "" {
		return st, nil
	}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", s.path, err)
	}
	for i := range st.Bans {
		if st.Bans[i].name, err = wire.ParseName(st.Bans[i].Name); err != nil {
			return st, fmt.Errorf("%s: ban %d: %w", s.path, i, err)
		}
	}
	return st, nil
}

// save replaces the file whole (write, then rename), so a crash leaves the old state or the
// new one. It does not fsync: a killed process loses nothing the kernel holds, and only a
// crash of the machine could roll the version back.
func (s *stateStore) save(st savedState) error {
	if s.path == "" {
		return nil
	}
	if st.Bans == nil {
		st.Bans = []savedBan{}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}
