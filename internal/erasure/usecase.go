package erasure

import (
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/wellness-rtbf/rtbf/internal/identity"
)

// The use cases below each take, in their constructor, exactly the ports
// they call, and refuse a nil one: a function builds the use cases it serves
// at cold start, so a wrong wiring does not compile or stops it there, never
// mid-request.

// Options are what every use case may take besides its ports. The zero
// value is the wall clock, random request ids and slog's default logger.
type Options struct {
	Now   func() time.Time
	NewID func() string
	Log   *slog.Logger
}

// Time is now on o's clock, in UTC.
func (o Options) Time() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

// Logger is o's log, or slog's default.
func (o Options) Logger() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.Default()
}

// env is the clock, ids and log a use case runs with.
type env struct{ o Options }

func (e env) now() time.Time    { return e.o.Time() }
func (e env) log() *slog.Logger { return e.o.Logger() }

func (e env) newID() string {
	if e.o.NewID != nil {
		return e.o.NewID()
	}
	return identity.NewRequestID()
}

// RequirePorts panics when one of the ports is nil (or a nil pointer),
// naming the use case and the port, so that a function wired wrong stops at
// cold start. Every use case's constructor calls it.
func RequirePorts(useCase string, ports ...any) {
	for i, p := range ports {
		if p == nil {
			panic(fmt.Sprintf("%s: port %d is nil", useCase, i+1))
		}
		if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && v.IsNil() {
			panic(fmt.Sprintf("%s: port %d is a nil %T", useCase, i+1, p))
		}
	}
}

// notifier tells the practitioners (in-portal notices and email) and the
// client (email) what became of a request, each notice and email once, and
// keeps the erasure records the request owes the evidence ledger. The
// client's requests and the purge both embed it; only the purge has a
// ledger.
type notifier struct {
	env
	directory     Directory
	requests      RequestStore
	notifications NotificationStore
	mailer        Mailer
	ledger        Ledger // nil: erasure records are left owed
}

// files reads a client's file: what a purge would delete.
type files struct{ content Content }

// Settings is the practice setting: read by a practitioner, changed by the
// team owner.
type Settings struct {
	env
	settings SettingStore
	roster   Roster
}

// NewSettings returns the setting's use case.
func NewSettings(settings SettingStore, roster Roster, o Options) *Settings {
	RequirePorts("erasure.Settings", settings, roster)
	return &Settings{env: env{o}, settings: settings, roster: roster}
}

// ClientRequests is the client's side of the lifecycle: the portal's view,
// the request to delete and its cancellation, with the notices and emails
// they send.
type ClientRequests struct {
	notifier
	files
	settings   SettingStore
	scheduler  Scheduler
	purgeDelay time.Duration
}

// NewClientRequests returns the client's use case. purgeDelay is how long
// after the request the purge runs (DefaultPurgeDelay when zero).
func NewClientRequests(settings SettingStore, directory Directory, requests RequestStore, notifications NotificationStore,
	content Content, scheduler Scheduler, mailer Mailer, purgeDelay time.Duration, o Options) *ClientRequests {
	RequirePorts("erasure.ClientRequests", settings, directory, requests, notifications, content, scheduler, mailer)
	if purgeDelay <= 0 {
		purgeDelay = DefaultPurgeDelay
	}
	return &ClientRequests{
		notifier:   notifier{env: env{o}, directory: directory, requests: requests, notifications: notifications, mailer: mailer},
		files:      files{content: content},
		settings:   settings,
		scheduler:  scheduler,
		purgeDelay: purgeDelay,
	}
}

// PurgeConfig bounds a purge.
type PurgeConfig struct {
	// Concurrency bounds the delete batches in flight of each of the
	// purge's two walks, the client's own partition and the chats
	// (default 8).
	Concurrency int
	// Budget, when set, caps one invocation's purge work; the invocation's
	// deadline (less Margin, default a minute) caps it anyway.
	Budget time.Duration
	Margin time.Duration
	// SweepGrace is how far past its purge time a pending request must be
	// before the sweep purges it itself (the schedule gets the first go).
	SweepGrace time.Duration
}

// Purger runs the purge of a request and the hourly sweep behind the
// schedules, and keeps the erasure record of each purge that ends in the
// evidence ledger.
type Purger struct {
	notifier
	files
	objects   Objects
	scheduler Scheduler
	cfg       PurgeConfig
	// pace is what the purges learn of the store's partitions, kept
	// from one phase (and invocation) to the next.
	pace *pacer
}

// NewPurger returns the purge's use case.
func NewPurger(directory Directory, requests RequestStore, notifications NotificationStore, content Content,
	objects Objects, scheduler Scheduler, mailer Mailer, ledger Ledger, cfg PurgeConfig, o Options) *Purger {
	RequirePorts("erasure.Purger", directory, requests, notifications, content, objects, scheduler, mailer, ledger)
	return &Purger{
		notifier: notifier{env: env{o}, directory: directory, requests: requests, notifications: notifications, mailer: mailer,
			ledger: ledger},
		files:     files{content: content},
		objects:   objects,
		scheduler: scheduler,
		cfg:       cfg,
		pace:      newPacer(),
	}
}

// Notifications is a practitioner's own notifications: the list and
// marking one read.
type Notifications struct {
	env
	roster Roster
	inbox  Inbox
}

// NewNotifications returns the notifications' use case.
func NewNotifications(roster Roster, inbox Inbox, o Options) *Notifications {
	RequirePorts("erasure.Notifications", roster, inbox)
	return &Notifications{env: env{o}, roster: roster, inbox: inbox}
}

// PracticeRequests is the practice's view of its deletion requests.
type PracticeRequests struct {
	env
	roster   Roster
	requests RequestStore
}

// NewPracticeRequests returns the practice's view.
func NewPracticeRequests(roster Roster, requests RequestStore, o Options) *PracticeRequests {
	RequirePorts("erasure.PracticeRequests", roster, requests)
	return &PracticeRequests{env: env{o}, roster: roster, requests: requests}
}

// Certificates gives a practice the erasure certificates of its requests,
// and anyone of it the key that signs them.
type Certificates struct {
	env
	roster       Roster
	requests     RequestStore
	certificates CertificateStore
}

// NewCertificates returns the certificates' use case.
func NewCertificates(roster Roster, requests RequestStore, certificates CertificateStore, o Options) *Certificates {
	RequirePorts("erasure.Certificates", roster, requests, certificates)
	return &Certificates{env: env{o}, roster: roster, requests: requests, certificates: certificates}
}
