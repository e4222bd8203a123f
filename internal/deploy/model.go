package deploy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// Deployment statuses, by CodeDeploy's names.
const (
	StatusCreated    = "Created"
	StatusQueued     = "Queued"
	StatusInProgress = "InProgress"
	StatusReady      = "Ready"  // waiting for approval before production traffic moves
	StatusBaking     = "Baking" // all traffic on green; blue kept for the termination wait
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
	StatusStopped    = "Stopped"
)

// Lifecycle events of an ECS blue/green deployment, in CodeDeploy's order.
const (
	EventBeforeInstall         = "BeforeInstall"
	EventInstall               = "Install"
	EventAfterInstall          = "AfterInstall"
	EventAllowTestTraffic      = "AllowTestTraffic"
	EventAfterAllowTestTraffic = "AfterAllowTestTraffic"
	EventBeforeAllowTraffic    = "BeforeAllowTraffic"
	EventAllowTraffic          = "AllowTraffic"
	EventAfterAllowTraffic     = "AfterAllowTraffic"
)

// LifecycleEventNames lists the events in the order they run.
func LifecycleEventNames() []string {
	return []string{EventBeforeInstall, EventInstall, EventAfterInstall, EventAllowTestTraffic,
		EventAfterAllowTestTraffic, EventBeforeAllowTraffic, EventAllowTraffic, EventAfterAllowTraffic}
}

// Lifecycle event statuses, by CodeDeploy's names.
const (
	EventPending    = "Pending"
	EventInProgress = "InProgress"
	EventSucceeded  = "Succeeded"
	EventFailed     = "Failed"
	EventSkipped    = "Skipped"
	EventUnknown    = "Unknown"
)

// Error codes of a failed or stopped deployment, from CodeDeploy's
// ErrorInformation codes.
const (
	CodeHookFailure     = "HOOK_EXECUTION_FAILURE"
	CodeAlarmActive     = "ALARM_ACTIVE"
	CodeManualStop      = "MANUAL_STOP"
	CodeTimeout         = "TIMEOUT"
	CodeHealth          = "HEALTH_CONSTRAINTS"
	CodeInternal        = "INTERNAL_ERROR"
	CodeRevisionMissing = "REVISION_MISSING"
)

// Auto rollback events, by CodeDeploy's names.
const (
	RollbackOnFailure = "DEPLOYMENT_FAILURE"
	RollbackOnAlarm   = "DEPLOYMENT_STOP_ON_ALARM"
	RollbackOnRequest = "DEPLOYMENT_STOP_ON_REQUEST"
)

// Revision is one registered task definition of a service: what a task
// set runs.
type Revision struct {
	Service string `json:"service"`
	Number  int    `json:"number"` // 1, 2, … per service; assigned on registration
	Image   string `json:"image"`
	// Tag is the tag the image was asked for by, before it was pinned to
	// its digest ("v1.2.0"); "" when it was named by digest.
	Tag     string            `json:"tag,omitempty"`
	Command []string          `json:"command,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Port    int               `json:"port"` // container port that takes traffic
	CPU     int               `json:"cpu,omitempty"`
	Memory  int               `json:"memory,omitempty"`
	Created time.Time         `json:"created"`
}

// Version is what the revision is called: its VERSION setting, else the
// tag its image was asked for by, else "revision N".
func (r Revision) Version() string {
	if v := r.Env["VERSION"]; v != "" {
		return v
	}
	if r.Tag != "" {
		return r.Tag
	}
	ref := r.Image
	if at := strings.IndexByte(ref, '@'); at >= 0 {
		ref = ref[:at]
	}
	if colon := strings.LastIndexByte(ref, ':'); colon > strings.LastIndexByte(ref, '/') {
		return ref[colon+1:]
	}
	return "revision " + strconv.Itoa(r.Number)
}

// Is reports whether the revision is the one a person names by version
// (with or without a leading "v") or by number.
func (r Revision) Is(name string) bool {
	v := r.Version()
	return name == v || strings.TrimPrefix(name, "v") == strings.TrimPrefix(v, "v") || name == strconv.Itoa(r.Number)
}

// Task set statuses. PRIMARY serves production; ACTIVE is a replacement
// being deployed; INACTIVE has been drained and stopped.
const (
	TaskSetPrimary  = "PRIMARY"
	TaskSetActive   = "ACTIVE"
	TaskSetInactive = "INACTIVE"
)

// TaskSet is the tasks of one revision of a service; it is also the
// router target group of the same ID.
type TaskSet struct {
	ID       string `json:"id"`
	Service  string `json:"service"`
	Revision int    `json:"revision"`
	Status   string `json:"status"`
	Tasks    []Task `json:"tasks"` // IDs are chosen and saved before the tasks start
}

// Task is one running copy of a revision.
type Task struct {
	ID       string `json:"id"`
	Endpoint string `json:"endpoint,omitempty"` // host:port, known once started
	Running  bool   `json:"running"`
}

// Weights is the production listener's split for a service, as saved in
// the store and restored to the router after a restart.
type Weights struct {
	Service      string `json:"service"`
	Blue         string `json:"blue"`            // task set ID; "" before the first deployment
	Green        string `json:"green,omitempty"` // task set ID; "" when no deployment runs
	GreenPercent int    `json:"greenPercent"`    // 0-100
	Test         string `json:"test,omitempty"`  // task set the test listener reaches
}

// LifecycleEvent is one step of a deployment as CodeDeploy reports it.
type LifecycleEvent struct {
	Name        string    `json:"lifecycleEventName"`
	Status      string    `json:"status"`
	Start       time.Time `json:"startTime,omitzero"`
	End         time.Time `json:"endTime,omitzero"`
	Hook        string    `json:"hook,omitempty"` // function name of the hook that ran
	Diagnostics string    `json:"diagnostics,omitempty"`
}

// ErrorInfo says why a deployment failed or stopped.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// AlarmStatus is the latest judgement of green, kept on the deployment.
type AlarmStatus struct {
	State        string    `json:"state"` // OK, ALARM or INSUFFICIENT_DATA
	Reason       string    `json:"reason,omitempty"`
	Requests     uint64    `json:"requests"` // green requests seen since Install
	Errors       uint64    `json:"errors"`
	NoTraffic    bool      `json:"noTraffic"` // true while green has served no request
	EvaluatedAt  time.Time `json:"evaluatedAt,omitzero"`
	BreachedName string    `json:"breached,omitempty"` // error_rate, p99_latency, unhealthy_targets, missing_data
	// Last is the latest period's datapoint against its thresholds, so a
	// reader sees why the alarm is in its state; nil before the first
	// evaluation.
	Last *Evaluation `json:"last,omitempty"`
}

// Evaluation is one alarm period's datapoint and the thresholds it was
// judged against.
type Evaluation struct {
	At                 time.Time `json:"at"`
	Requests           uint64    `json:"requests"`
	Errors             uint64    `json:"errors"`
	ErrorRatePercent   float64   `json:"errorRatePercent"`
	ErrorRateThreshold float64   `json:"errorRateThreshold"`
	P99Seconds         float64   `json:"p99Seconds"`
	P99Threshold       float64   `json:"p99ThresholdSeconds,omitempty"` // zero: no latency alarm
	Unhealthy          int       `json:"unhealthy"`
	UnhealthyThreshold int       `json:"unhealthyThreshold"`
	// Missing is true when the period had fewer requests than the alarm
	// needs to judge it.
	Missing bool `json:"missing"`
	// Breached names what the period breached, "" for none.
	Breached string `json:"breached,omitempty"`
}

// Hook is what runs at a hook event: a command (argv, never a shell) or
// an HTTP URL (POSTed a JSON body; 2xx is success).
type Hook struct {
	Name    string        `json:"name"` // function name as an appspec names it, or the event name
	Command []string      `json:"command,omitempty"`
	URL     string        `json:"url,omitempty"`
	Timeout time.Duration `json:"timeout"` // zero means 60s
}

// Settings is how one deployment runs, frozen when it is created.
type Settings struct {
	DesiredCount    int                   `json:"desiredCount"` // zero means 1
	Strategy        awsfmt.TrafficRouting `json:"strategy"`     // zero means AllAtOnce
	ReadyAction     string                `json:"readyAction"`  // CONTINUE_DEPLOYMENT (zero) or STOP_DEPLOYMENT
	ReadyWait       time.Duration         `json:"readyWait"`    // zero means 1h
	TerminationWait time.Duration         `json:"terminationWait"`
	Alarms          AlarmPolicy           `json:"alarms"`
	// PromoteWithoutTraffic lets a canary or linear step move on when its
	// interval passes even if green served fewer than Alarms.MinRequests
	// requests in it. False (zero) holds the step until they arrive.
	PromoteWithoutTraffic bool `json:"promoteWithoutTraffic"`
	// AutoRollback lists the RollbackOn* events that roll back by themselves.
	AutoRollback []string `json:"autoRollback"`
	// Hooks maps a hook event name to what runs at it.
	Hooks map[string]Hook `json:"hooks,omitempty"`
	// InstallTimeout bounds the wait for green's targets to be healthy.
	// Zero means 5m.
	InstallTimeout time.Duration `json:"installTimeout"`
	// StopGrace is how long a stopped task may take to finish. Zero means 10s.
	StopGrace time.Duration `json:"stopGrace"`
	// Source says where these settings were read; nil: not recorded
	// (a deployment created before canaryflow recorded it, or a rollback).
	Source *SettingsSource `json:"source,omitempty"`
}

// SettingsSource says where a deployment's settings came from: a
// release's tagged commit (the pipeline reads canaryflow.yaml and
// appspec.yaml there, as CodeDeploy reads the appspec from the revision)
// or the files canaryflow up runs with (a deployment by hand).
type SettingsSource struct {
	// Files are the files read: canaryflow.yaml, and the appspec when one
	// was used.
	Files []string `json:"files"`
	// Tag and Commit name the release the files were read at; both ""
	// for the working tree.
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// String says it as a person reads it: "canaryflow.yaml at v1.2.0
// (abc1234)" or "canaryflow.yaml in the working tree".
func (s SettingsSource) String() string {
	files := strings.Join(s.Files, " and ")
	if s.Tag == "" {
		return files + " in the working tree"
	}
	commit := s.Commit
	if len(commit) > 7 {
		commit = commit[:7]
	}
	return fmt.Sprintf("%s at %s (%s)", files, s.Tag, commit)
}

func (s *Settings) applyDefaults() {
	if s.DesiredCount == 0 {
		s.DesiredCount = 1
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = awsfmt.AllAtOnce
	}
	if s.ReadyAction == "" {
		s.ReadyAction = "CONTINUE_DEPLOYMENT"
	}
	if s.ReadyWait == 0 {
		s.ReadyWait = time.Hour
	}
	if s.InstallTimeout == 0 {
		s.InstallTimeout = 5 * time.Minute
	}
	if s.StopGrace == 0 {
		s.StopGrace = 10 * time.Second
	}
	s.Alarms.applyDefaults()
}

func (s *Settings) rollsBackOn(event string) bool {
	for _, e := range s.AutoRollback {
		if e == event {
			return true
		}
	}
	return false
}

// Deployment is one blue/green rollout of a revision. Step is the
// controller's own marker of where it is, saved before each action so a
// restart resumes exactly there.
type Deployment struct {
	ID               string      `json:"deploymentId"`
	Service          string      `json:"service"`
	Revision         int         `json:"revision"`         // the revision being deployed
	PreviousRevision int         `json:"previousRevision"` // live when it started: the rollback target; 0 if none
	Status           string      `json:"status"`
	Outcome          string      `json:"outcome,omitempty"` // final status decided, applied once rollback is done
	Step             string      `json:"step"`
	Settings         Settings    `json:"settings"`
	BlueTaskSet      string      `json:"blueTaskSet,omitempty"`
	GreenTaskSet     string      `json:"greenTaskSet,omitempty"`
	GreenPercent     int         `json:"greenPercent"`
	ShiftIndex       int         `json:"shiftIndex"`         // next entry of the strategy's steps
	WaitUntil        time.Time   `json:"waitUntil,omitzero"` // end of the wait in progress
	Approved         bool        `json:"approved"`           // ready wait continued by hand
	StopRequested    bool        `json:"stopRequested"`      // stop asked for by hand
	StopNoRollback   bool        `json:"stopNoRollback"`     // … with --no-rollback
	PromoteRequested bool        `json:"promoteRequested"`   // promote now: the rest of the traffic steps and waits skipped
	RolledBack       bool        `json:"rolledBack"`         // production traffic was returned to blue
	Error            *ErrorInfo  `json:"errorInformation,omitempty"`
	Alarm            AlarmStatus `json:"alarm"`
	// StepTraffic is what the traffic step in progress has seen of green;
	// nil outside a canary or linear step that needs evidence.
	StepTraffic *StepTraffic `json:"stepTraffic,omitempty"`
	Creator     string       `json:"creator"` // user, rollback
	Created     time.Time    `json:"createTime"`
	Started     time.Time    `json:"startTime,omitzero"`
	Completed   time.Time    `json:"completeTime,omitzero"`
}

// Done reports whether the deployment has reached a final status.
func (d *Deployment) Done() bool {
	return d.Status == StatusSucceeded || d.Status == StatusFailed || d.Status == StatusStopped
}

// Active reports whether the deployment holds its service: everything
// that is not final and not still queued.
func (d *Deployment) Active() bool { return !d.Done() && d.Status != StatusQueued }
