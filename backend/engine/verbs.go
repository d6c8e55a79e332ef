package engine

import (
	"fmt"
	"slices"

	"ferry/backend/bits"
)

// Verb declares one job method that moves a job between states: in which
// states of which job types it acts, and what it does in the others. It is
// the one statement of "which actions a state allows" (bits-reference §4.2,
// §6): the engine refuses or ignores a call by it, and the operations table
// (backend/ops) hands the same value to the window, the browser UI (through
// /v1/meta) and the CLI's help, so that none of them keeps its own copy.
type Verb struct {
	Name string `json:"name"`
	// Acts lists, per job type, the states in which the verb changes the job.
	Acts map[bits.JobType][]bits.JobState `json:"acts"`
	// Elsewhere is what a call in another state that is not final does:
	// nothing (S_OK) or a refusal (BG_E_INVALID_STATE). A final job refuses
	// every verb.
	Elsewhere Outcome `json:"elsewhere"`
	// To is the state the verb leads to.
	To bits.JobState `json:"to"`
	// NeedsFiles: the verb fails with BG_E_EMPTY on a job without files.
	NeedsFiles bool `json:"needsFiles,omitempty"`
}

// Outcome is what a verb does in a state it does not act in.
type Outcome string

const (
	NoOp   Outcome = "noop"
	Refuse Outcome = "refuse"
)

// The job types, for declarations that treat them alike.
var allTypes = []bits.JobType{bits.TypeDownload, bits.TypeUpload, bits.TypeUploadReply}

func everyType(states ...bits.JobState) map[bits.JobType][]bits.JobState {
	m := map[bits.JobType][]bits.JobState{}
	for _, t := range allTypes {
		m[t] = states
	}
	return m
}

var nonFinal = []bits.JobState{bits.StateQueued, bits.StateConnecting, bits.StateTransferring, bits.StateSuspended,
	bits.StateError, bits.StateTransientError, bits.StateTransferred}

// Verbs are the declarations. Tests may change one (and restore it) to see
// every consumer follow.
var Verbs = map[string]*Verb{
	// Resume: SUSPENDED, ERROR and TRANSIENT_ERROR go back to the queue;
	// a job already on its way is left alone.
	"resume": {Name: "resume", To: bits.StateQueued, Elsewhere: NoOp, NeedsFiles: true,
		Acts: everyType(bits.StateSuspended, bits.StateError, bits.StateTransientError)},
	// Suspend: any state that is not final, and a suspended job stays so.
	"suspend": {Name: "suspend", To: bits.StateSuspended, Elsewhere: NoOp,
		Acts: everyType(bits.StateQueued, bits.StateConnecting, bits.StateTransferring, bits.StateError,
			bits.StateTransientError, bits.StateTransferred)},
	"cancel": {Name: "cancel", To: bits.StateCancelled, Elsewhere: Refuse, Acts: everyType(nonFinal...)},
	// Complete: a download in any state that is not final (the files not
	// transferred are dropped, BG_S_PARTIAL_COMPLETE); an upload only once
	// TRANSFERRED.
	"complete": {Name: "complete", To: bits.StateAcknowledged, Elsewhere: Refuse,
		Acts: map[bits.JobType][]bits.JobState{
			bits.TypeDownload:    nonFinal,
			bits.TypeUpload:      {bits.StateTransferred},
			bits.TypeUploadReply: {bits.StateTransferred},
		}},
}

// Allows reports whether the verb acts on a job of type t in state s with
// files files.
func (v *Verb) Allows(t bits.JobType, s bits.JobState, files int) bool {
	if v.NeedsFiles && files == 0 {
		return false
	}
	return slices.Contains(v.Acts[t], s)
}

// check is the engine's side of the declaration: nil when the verb acts,
// errNoOp when it quietly does nothing, else the refusal.
func (v *Verb) check(j *bits.Job) error {
	if j.State.Final() {
		return finalErr(j)
	}
	if v.NeedsFiles && len(j.Files) == 0 {
		return bits.Errorf(bits.BG_E_EMPTY, "job %s has no files; add one first", j.ID)
	}
	if slices.Contains(v.Acts[j.Type], j.State) {
		return nil
	}
	if v.Elsewhere == NoOp {
		return errNoOp
	}
	return bits.Errorf(bits.BG_E_INVALID_STATE, "%s: a %s job cannot take it while %s; it can in %s", v.Name, j.Type, j.State, stateList(v.Acts[j.Type]))
}

func stateList(states []bits.JobState) string {
	out := ""
	for i, s := range states {
		if i > 0 {
			out += ", "
		}
		out += s.String()
	}
	return out
}

// errNoOp: the verb does nothing in this state (S_OK).
var errNoOp = fmt.Errorf("no-op")

func verb(name string) *Verb {
	v, ok := Verbs[name]
	if !ok {
		panic("engine: no verb " + name)
	}
	return v
}
