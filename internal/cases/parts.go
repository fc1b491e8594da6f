package cases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// ---- tasks

// TaskInput describes a task to add or changes one; nil fields stay as
// they are (a new task's status starts open).
type TaskInput struct {
	Title       *string     `json:"title"`
	Description *string     `json:"description"`
	Phase       *Phase      `json:"phase"`
	Status      *TaskStatus `json:"status"`
	Owner       *string     `json:"owner"`
	Due         *time.Time  `json:"due"`
}

// MaxTasks bounds the tasks of one case.
const MaxTasks = 500

// applyTask applies in to t, validating each field.
func (s *Service) applyTask(ctx context.Context, c access.Caller, t *Task, in TaskInput, now time.Time) (changed []string, err error) {
	if in.Title != nil {
		v, err := text("title", *in.Title, true, 200)
		if err != nil {
			return nil, err
		}
		if v != t.Title {
			t.Title = v
			changed = append(changed, "title")
		}
	}
	if in.Description != nil {
		v, err := text("description", *in.Description, false, 4000)
		if err != nil {
			return nil, err
		}
		if v != t.Description {
			t.Description = v
			changed = append(changed, "description")
		}
	}
	if in.Phase != nil && *in.Phase != t.Phase {
		if *in.Phase != "" && (!in.Phase.Valid() || *in.Phase == PhaseClosed) {
			return nil, tansa.Errorf(tansa.Invalid, "phase: %q must be triage, containment, eradication or recovery", *in.Phase)
		}
		t.Phase = *in.Phase
		changed = append(changed, "phase "+string(t.Phase))
	}
	if in.Status != nil && *in.Status != t.Status {
		if !in.Status.Valid() {
			return nil, tansa.Errorf(tansa.Invalid, "status: %q must be open, in-progress, done or skipped", *in.Status)
		}
		t.Status = *in.Status
		t.Completed = time.Time{}
		if t.Status.Finished() {
			t.Completed = now
		}
		changed = append(changed, "status "+string(t.Status))
	}
	if in.Owner != nil && *in.Owner != t.Owner {
		name, err := s.assignee(ctx, c, t.TenantID, *in.Owner)
		if err != nil {
			return nil, tansa.Errorf(tansa.Invalid, "owner: %s", strings.TrimPrefix(tansa.MessageOf(err), "assignee: "))
		}
		t.Owner, t.OwnerName = *in.Owner, name
		if name == "" {
			changed = append(changed, "no owner")
		} else {
			changed = append(changed, "owner "+name)
		}
	}
	if in.Due != nil && !in.Due.Equal(t.Due) {
		if !in.Due.IsZero() && (in.Due.Year() < 2000 || in.Due.Year() > 2200) {
			return nil, tansa.Errorf(tansa.Invalid, "due: %s is not a plausible due date", in.Due.Format(time.RFC3339))
		}
		t.Due = in.Due.UTC().Truncate(time.Microsecond)
		if t.Due.IsZero() {
			changed = append(changed, "no due date")
		} else {
			changed = append(changed, "due "+t.Due.Format(time.RFC3339))
		}
	}
	return changed, nil
}

// AddTask adds a task to case id.
func (s *Service) AddTask(ctx context.Context, c access.Caller, id string, in TaskInput) (Task, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Task{}, err
	}
	cs, err := s.get(ctx, c, id)
	if err != nil {
		return Task{}, err
	}
	tasks, err := s.store.Tasks(ctx, cs.ID)
	if err != nil {
		return Task{}, err
	}
	if len(tasks) >= MaxTasks {
		return Task{}, tansa.Errorf(tansa.Invalid, "tasks: a case holds at most %d tasks", MaxTasks)
	}
	if in.Title == nil {
		return Task{}, tansa.Errorf(tansa.Invalid, "title: required")
	}
	now := s.now()
	t := Task{ID: newID(), CaseID: cs.ID, TenantID: cs.TenantID, Position: len(tasks) + 1, Status: TaskOpen, Created: now, Updated: now}
	if len(tasks) > 0 {
		t.Position = tasks[len(tasks)-1].Position + 1
	}
	if _, err := s.applyTask(ctx, c, &t, in, now); err != nil {
		return Task{}, err
	}
	ch := Change{Touch: cs.ID, TouchAt: now, Tasks: []Task{t},
		Timeline: []Entry{entry(c, now, &cs, "task.add", t.ID, "task: "+t.Title)},
		Audit:    []tansa.AuditEntry{s.audit(c, now, "case-task.create", "case-task", t.ID, t.TenantID, nil, t)}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return Task{}, err
	}
	return t, nil
}

// UpdateTask changes task id.
func (s *Service) UpdateTask(ctx context.Context, c access.Caller, id string, in TaskInput) (Task, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Task{}, err
	}
	old, err := s.store.Task(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !sees(c, old.TenantID)) {
		return Task{}, notFound("task", id)
	}
	if err != nil {
		return Task{}, err
	}
	cs, err := s.get(ctx, c, old.CaseID)
	if err != nil {
		return Task{}, err
	}
	now := s.now()
	t := old
	changed, err := s.applyTask(ctx, c, &t, in, now)
	if err != nil || len(changed) == 0 {
		return t, err
	}
	t.Updated = now
	ch := Change{Touch: cs.ID, TouchAt: now, Tasks: []Task{t},
		Timeline: []Entry{entry(c, now, &cs, "task.update", t.ID, "task "+t.Title+": "+strings.Join(changed, ", "))},
		Audit:    []tansa.AuditEntry{s.audit(c, now, "case-task.update", "case-task", t.ID, t.TenantID, old, t)}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return Task{}, err
	}
	return t, nil
}

// Task returns task id.
func (s *Service) Task(ctx context.Context, c access.Caller, id string) (Task, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return Task{}, err
	}
	t, err := s.store.Task(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !sees(c, t.TenantID)) {
		return Task{}, notFound("task", id)
	}
	return t, err
}

// Tasks returns case id's tasks in order.
func (s *Service) Tasks(ctx context.Context, c access.Caller, id string) ([]Task, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return nil, err
	}
	if _, err := s.get(ctx, c, id); err != nil {
		return nil, err
	}
	return s.store.Tasks(ctx, id)
}

// ---- notes

// AddNote adds a note to case id.
func (s *Service) AddNote(ctx context.Context, c access.Caller, id, body string) (Note, error) {
	return s.AddNoteKeyed(ctx, c, id, "", body)
}

// AddNoteKeyed adds a note to case id once per key: a second call with the
// same key returns the first note and adds nothing. An empty key always
// adds.
func (s *Service) AddNoteKeyed(ctx context.Context, c access.Caller, id, key, body string) (Note, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Note{}, err
	}
	cs, err := s.get(ctx, c, id)
	if err != nil {
		return Note{}, err
	}
	if body, err = text("body", body, true, 20000); err != nil {
		return Note{}, err
	}
	now := s.now()
	n := Note{ID: newID(), CaseID: cs.ID, TenantID: cs.TenantID, Author: actor(c), Body: body, Created: now}
	if key != "" {
		n.ID = keyedID("note", cs.ID, key)
	}
	summary := body
	if r := []rune(summary); len(r) > 120 {
		summary = string(r[:120]) + "…"
	}
	ch := Change{Touch: cs.ID, TouchAt: now, Notes: []Note{n},
		Timeline: []Entry{entry(c, now, &cs, "note.add", n.ID, summary)},
		Audit:    []tansa.AuditEntry{s.audit(c, now, "case-note.create", "case-note", n.ID, n.TenantID, nil, n)}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		if key != "" && tansa.KindOf(err) == tansa.Conflict {
			notes, err := s.store.Notes(ctx, cs.ID)
			if err != nil {
				return Note{}, err
			}
			for _, old := range notes {
				if old.ID == n.ID {
					return old, nil
				}
			}
		}
		return Note{}, err
	}
	return n, nil
}

// Notes returns case id's notes, oldest first.
func (s *Service) Notes(ctx context.Context, c access.Caller, id string) ([]Note, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return nil, err
	}
	if _, err := s.get(ctx, c, id); err != nil {
		return nil, err
	}
	return s.store.Notes(ctx, id)
}

// ---- observables

// MaxObservables bounds the observables of one case.
const MaxObservables = 2000

// observables validates ins for case cs, which already has have, and
// returns the new ones (values that exist are skipped).
func (s *Service) observables(c access.Caller, cs *Case, have []Observable, ins []ObservableInput, now time.Time) ([]Observable, error) {
	if len(have)+len(ins) > MaxObservables {
		return nil, tansa.Errorf(tansa.Invalid, "observables: a case holds at most %d observables", MaxObservables)
	}
	var out []Observable
	for i, in := range ins {
		var typ intel.Type
		var value string
		var err error
		if strings.TrimSpace(in.Type) == "" {
			typ, value, err = intel.Guess(in.Value)
			if err != nil {
				return nil, tansa.Errorf(tansa.Invalid, "observables[%d]: %s; name its type", i, tansa.MessageOf(err))
			}
		} else {
			if typ, err = intel.ParseType(in.Type); err != nil {
				return nil, tansa.Errorf(tansa.Invalid, "observables[%d].type: %s", i, tansa.MessageOf(err))
			}
			if value, err = intel.Normalize(typ, in.Value); err != nil {
				return nil, tansa.Errorf(tansa.Invalid, "observables[%d].value: %s", i, tansa.MessageOf(err))
			}
		}
		if len(value) > 2048 {
			return nil, tansa.Errorf(tansa.Invalid, "observables[%d].value: longer than 2048 bytes", i)
		}
		desc, err := text("description", in.Description, false, 1000)
		if err != nil {
			return nil, tansa.Errorf(tansa.Invalid, "observables[%d].%s", i, tansa.MessageOf(err))
		}
		dup := func(o Observable) bool { return o.Type == string(typ) && o.Value == value }
		if containsFunc(have, dup) || containsFunc(out, dup) {
			continue
		}
		out = append(out, Observable{ID: newID(), CaseID: cs.ID, TenantID: cs.TenantID, Type: string(typ), Value: value,
			Description: desc, Creator: actor(c), Created: now})
	}
	return out, nil
}

func containsFunc[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

// AddObservables adds observables to case id and returns those that were
// new; values already on the case are skipped.
func (s *Service) AddObservables(ctx context.Context, c access.Caller, id string, ins []ObservableInput) ([]Observable, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return nil, err
	}
	cs, err := s.get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, tansa.Errorf(tansa.Invalid, "observables: none given")
	}
	have, err := s.store.Observables(ctx, cs.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	obs, err := s.observables(c, &cs, have, ins, now)
	if err != nil || len(obs) == 0 {
		return []Observable{}, err
	}
	ch := Change{Touch: cs.ID, TouchAt: now, Observables: obs}
	for _, o := range obs {
		ch.Timeline = append(ch.Timeline, entry(c, now, &cs, "observable.add", o.ID, "observable "+o.Type+" "+o.Value))
		ch.Audit = append(ch.Audit, s.audit(c, now, "case-observable.create", "case-observable", o.ID, o.TenantID, nil, o))
	}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return nil, err
	}
	return obs, nil
}

// ObservableView is an observable with what intelligence knows of it.
type ObservableView struct {
	Observable
	// Known lists the indicators its value is; nil when intelligence was
	// not consulted.
	Known []IntelMatch `json:"known"`
}

// Observables returns case id's observables, each with the indicators it
// matches in the case tenant's view of intelligence (when available).
func (s *Service) Observables(ctx context.Context, c access.Caller, id string) ([]ObservableView, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return nil, err
	}
	cs, err := s.get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	obs, err := s.store.Observables(ctx, id)
	if err != nil {
		return nil, err
	}
	var known map[string][]IntelMatch
	if s.opt.Intel != nil && len(obs) > 0 && c.Can(access.PermIntelRead) {
		if known, err = s.opt.Intel.Known(ctx, c, cs.TenantID, obs); err != nil {
			return nil, err
		}
	}
	out := make([]ObservableView, len(obs))
	for i, o := range obs {
		out[i] = ObservableView{Observable: o}
		if known != nil {
			out[i].Known = known[o.ID]
			if out[i].Known == nil {
				out[i].Known = []IntelMatch{}
			}
		}
	}
	return out, nil
}

// CanRetroHunt reports whether observables can be retro-hunted.
func (s *Service) CanRetroHunt() bool { return s.opt.RetroHunter != nil }

// RetroHunt searches the case tenant's stored data for observable id and
// records the search and its result on the timeline.
func (s *Service) RetroHunt(ctx context.Context, c access.Caller, id string) (RetroHuntResult, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return RetroHuntResult{}, err
	}
	o, err := s.store.Observable(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !sees(c, o.TenantID)) {
		return RetroHuntResult{}, notFound("observable", id)
	}
	if err != nil {
		return RetroHuntResult{}, err
	}
	if s.opt.RetroHunter == nil {
		return RetroHuntResult{}, tansa.Errorf(tansa.Unavailable, "retro-hunt is not configured on this server")
	}
	cs, err := s.get(ctx, c, o.CaseID)
	if err != nil {
		return RetroHuntResult{}, err
	}
	res, err := s.opt.RetroHunter.RetroHunt(ctx, c, cs.TenantID, o)
	if err != nil {
		return RetroHuntResult{}, err
	}
	res.CaseID = cs.ID
	now := s.now()
	ch := Change{Touch: cs.ID, TouchAt: now,
		Timeline: []Entry{entry(c, now, &cs, "observable.retro-hunt", o.ID, "retro-hunt "+o.Type+" "+o.Value+": "+res.Summary)},
		Audit: []tansa.AuditEntry{s.audit(c, now, "case-observable.retro-hunt", "case-observable", o.ID, o.TenantID, nil,
			map[string]any{"value": o.Value, "matches": res.Matches})}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return RetroHuntResult{}, err
	}
	return res, nil
}

// ---- evidence

// EvidenceInput describes an uploaded file.
type EvidenceInput struct {
	Name        string
	ContentType string
	Description string
}

// AddEvidence stores content as evidence of case id with its SHA-256, and
// records the upload on the timeline and in the audit log. Content over
// the size limit fails with kind tansa.TooLarge.
func (s *Service) AddEvidence(ctx context.Context, c access.Caller, id string, in EvidenceInput, content []byte) (Evidence, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Evidence{}, err
	}
	cs, err := s.get(ctx, c, id)
	if err != nil {
		return Evidence{}, err
	}
	if int64(len(content)) > s.opt.MaxEvidence {
		return Evidence{}, tansa.Errorf(tansa.TooLarge, "evidence: %d bytes exceed the %d-byte limit", len(content), s.opt.MaxEvidence)
	}
	if len(content) == 0 {
		return Evidence{}, tansa.Errorf(tansa.Invalid, "evidence: the file is empty")
	}
	name := path.Base(strings.ReplaceAll(strings.TrimSpace(in.Name), `\`, "/"))
	if name == "." || name == "/" || name == "" {
		return Evidence{}, tansa.Errorf(tansa.Invalid, "name: give the file's name")
	}
	if name, err = text("name", name, true, 200); err != nil {
		return Evidence{}, err
	}
	if strings.ContainsAny(name, "\n\r\t\"") {
		return Evidence{}, tansa.Errorf(tansa.Invalid, "name: %q may not contain quotes, tabs or line breaks", name)
	}
	ct := strings.TrimSpace(in.ContentType)
	if ct == "" || len(ct) > 100 || strings.ContainsFunc(ct, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		ct = "application/octet-stream"
	}
	desc, err := text("description", in.Description, false, 2000)
	if err != nil {
		return Evidence{}, err
	}
	sum := sha256.Sum256(content)
	now := s.now()
	ev := Evidence{ID: newID(), CaseID: cs.ID, TenantID: cs.TenantID, Name: name, ContentType: ct, Size: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), Description: desc, Uploader: actor(c), Uploaded: now}
	ch := Change{Touch: cs.ID, TouchAt: now, Evidence: &ev, Content: content,
		Timeline: []Entry{entry(c, now, &cs, "evidence.upload", ev.ID, "evidence "+ev.Name+" uploaded ("+humanSize(ev.Size)+", SHA-256 "+ev.SHA256+")")},
		Audit:    []tansa.AuditEntry{s.audit(c, now, "case-evidence.upload", "case-evidence", ev.ID, ev.TenantID, nil, ev)}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return Evidence{}, err
	}
	return ev, nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// EvidenceList returns case id's evidence files without their content.
func (s *Service) EvidenceList(ctx context.Context, c access.Caller, id string) ([]Evidence, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return nil, err
	}
	if _, err := s.get(ctx, c, id); err != nil {
		return nil, err
	}
	return s.store.EvidenceList(ctx, id)
}

func (s *Service) evidence(ctx context.Context, c access.Caller, id string) (Evidence, Case, error) {
	ev, err := s.store.Evidence(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !sees(c, ev.TenantID)) {
		return Evidence{}, Case{}, notFound("evidence", id)
	}
	if err != nil {
		return Evidence{}, Case{}, err
	}
	cs, err := s.get(ctx, c, ev.CaseID)
	return ev, cs, err
}

// Download returns evidence id and its content, and records the download
// in the chain of custody (the timeline) and the audit log before any byte
// is handed over. The content's SHA-256 is checked against the one taken at
// upload; a mismatch fails rather than hand over altered evidence.
func (s *Service) Download(ctx context.Context, c access.Caller, id string) (Evidence, []byte, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return Evidence{}, nil, err
	}
	ev, cs, err := s.evidence(ctx, c, id)
	if err != nil {
		return Evidence{}, nil, err
	}
	content, err := s.store.EvidenceContent(ctx, id)
	if err != nil {
		return Evidence{}, nil, err
	}
	if sum := sha256.Sum256(content); hex.EncodeToString(sum[:]) != ev.SHA256 {
		return Evidence{}, nil, tansa.Errorf(tansa.Internal, "evidence %s: stored content does not match its SHA-256", id)
	}
	now := s.now()
	ch := Change{Timeline: []Entry{entry(c, now, &cs, "evidence.download", ev.ID, "evidence "+ev.Name+" downloaded")},
		Audit: []tansa.AuditEntry{s.audit(c, now, "case-evidence.download", "case-evidence", ev.ID, ev.TenantID, nil, nil)}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return Evidence{}, nil, err
	}
	return ev, content, nil
}

// Custody returns evidence id with its chain of custody: the upload and
// every download, oldest first.
func (s *Service) Custody(ctx context.Context, c access.Caller, id string) (Evidence, []Entry, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return Evidence{}, nil, err
	}
	ev, _, err := s.evidence(ctx, c, id)
	if err != nil {
		return Evidence{}, nil, err
	}
	var all []Entry
	for p := (access.Page{Limit: 500}); ; p.Offset += p.Limit {
		es, total, err := s.store.Timeline(ctx, ev.CaseID, ev.ID, p)
		if err != nil {
			return Evidence{}, nil, err
		}
		all = append(all, es...)
		if p.Offset+p.Limit >= total || len(es) == 0 {
			break
		}
	}
	return ev, all, nil
}
