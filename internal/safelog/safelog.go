// Package safelog keeps personal data out of the functions' logs. An AWS
// service's error message may quote what it was sent: SES's MessageRejected
// lists the recipients' addresses, a DynamoDB ValidationException may quote
// an attribute, and a failed request's URL names the S3 key of a client's
// file. Such text must never reach a log line, the error a function returns
// (which the Lambda runtime logs and reports as the invocation's
// errorMessage) or a response.
//
// Text renders an error by walking its chain: an AWS API error is its code
// alone, an SDK operation error its service and operation, a request's URL
// its scheme and host; every other link keeps its own text (ours: ids and
// phase names). Handler applies Text to every error attribute of every log
// record, and every function's logger goes through it (config.MustBuild);
// Returns does the same for the error a Lambda handler returns.
package safelog

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/smithy-go"
)

// maxDepth bounds the walk of a chain: one this deep is rendered by type.
const maxDepth = 64

// Text is err's text without anything an AWS service or a URL put in it:
// for an error that holds neither it is err.Error(), unchanged.
func Text(err error) (text string) {
	if err == nil {
		return ""
	}
	defer func() {
		// A nil pointer in an error interface, whose Error panics.
		if recover() != nil {
			text = fmt.Sprintf("(%T)", err)
		}
	}()
	return render(err, 0)
}

func render(err error, depth int) string {
	if depth > maxDepth {
		return fmt.Sprintf("(%T)", err)
	}
	switch e := err.(type) {
	case *Error:
		return e.text
	case smithy.APIError:
		// The code names the failure; the message is the service's own
		// text, which may quote the request.
		return "api error " + e.ErrorCode()
	case *smithy.OperationError:
		return "operation error " + e.ServiceID + ": " + e.OperationName + ", " + renderOrNil(e.Err, depth+1)
	case *smithy.DeserializationError:
		// What failed to parse is a response: say only what kind of
		// failure it was.
		if e.Err == nil {
			return "deserialization failed"
		}
		return fmt.Sprintf("deserialization failed, (%T)", e.Err)
	case *url.Error:
		return e.Op + " " + redactURL(e.URL) + ": " + renderOrNil(e.Err, depth+1)
	}
	var links []error
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if l := u.Unwrap(); l != nil {
			links = []error{l}
		}
	case interface{ Unwrap() []error }:
		for _, l := range u.Unwrap() {
			if l != nil {
				links = append(links, l)
			}
		}
	}
	text := err.Error()
	if len(links) == 0 {
		return text
	}
	// A wrapper's text is its own words around its links' texts (as
	// fmt.Errorf's %w and errors.Join make it): each link's text is
	// replaced by its rendering, and the wrapper's own words stay.
	// Links are found in order (the last place for a lone link, which
	// fmt.Errorf's "...: %w" puts at the end).
	var b strings.Builder
	var rendered []string
	whole, rest := true, text
	for _, l := range links {
		lt, lr := l.Error(), render(l, depth+1)
		rendered = append(rendered, lr)
		i := strings.Index(rest, lt)
		if len(links) == 1 {
			i = strings.LastIndex(rest, lt)
		}
		if i < 0 {
			// Text the wrapper quoted or cut is safe only if the link's
			// was safe as it was.
			whole = whole && lt == lr
			continue
		}
		b.WriteString(rest[:i])
		b.WriteString(lr)
		rest = rest[i+len(lt):]
	}
	b.WriteString(rest)
	out := b.String()
	if !whole {
		// The wrapper changed a link's text on its way in (quoted it, cut
		// it): its text may hold what the link's rendering leaves out, so
		// only its type and the renderings stay.
		return fmt.Sprintf("(%T) %s", err, strings.Join(rendered, "; "))
	}
	return out
}

func renderOrNil(err error, depth int) string {
	if err == nil {
		return "<nil>"
	}
	return render(err, depth)
}

// redactURL keeps a URL's scheme and host: its path and query may name a
// client's file (an S3 key) or carry a signature.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return `"[url]"`
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/…"
	}
	return `"` + out + `"`
}

// Error is an error whose text is safe to log (Err makes one). It unwraps
// to the error it was made from, so errors.Is and errors.As see the same
// chain.
type Error struct {
	err  error
	text string
}

func (e *Error) Error() string { return e.text }
func (e *Error) Unwrap() error { return e.err }

// Err returns err with Text as its text; nil for nil.
func Err(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*Error); ok {
		return err
	}
	return &Error{err: err, text: Text(err)}
}

// Returns wraps a Lambda handler so that the error it returns, which the
// Lambda runtime prints to the function's log and reports as the
// invocation's errorMessage, carries Text alone. Every function's main is
//
//	lambda.StartHandlerFunc(safelog.Returns(config.MustBuild(build).Handle))
func Returns[In, Out any](handle func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := handle(ctx, in)
		return out, Err(err)
	}
}

// Handler wraps next so that every attribute whose value is an error (at
// any depth of groups, and in attributes given to Logger.With) is logged as
// Text. Every logger of the functions is built on it.
func Handler(next slog.Handler) slog.Handler {
	if h, ok := next.(*handler); ok {
		return h
	}
	return &handler{next: next}
}

type handler struct{ next slog.Handler }

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(clean(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	cleaned := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		cleaned[i] = clean(a)
	}
	return &handler{next: h.next.WithAttrs(cleaned)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name)}
}

// clean renders an error value as Text, looking into groups.
func clean(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Text(err))
		}
	case slog.KindGroup:
		group := v.Group()
		cleaned := make([]slog.Attr, len(group))
		for i, g := range group {
			cleaned[i] = clean(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(cleaned...)}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
