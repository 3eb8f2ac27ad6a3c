// Package sesmail is the SES v2 adapter of erasure.Mailer. It sends each
// email as a raw MIME message with a text and an HTML part, built here so
// that the headers are exactly ours: every header value is either fixed or
// encoded, so nothing a client typed can add a header.
package sesmail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// Mailer sends email through SES v2.
type Mailer struct {
	ses  *sesv2.Client
	from string
	now  func() time.Time
}

var _ erasure.Mailer = (*Mailer)(nil)

// New returns a Mailer sending from the verified identity from.
func New(ses *sesv2.Client, from string) *Mailer {
	return &Mailer{ses: ses, from: from, now: time.Now}
}

// Send sends e to its recipients in one message.
func (m *Mailer) Send(ctx context.Context, e erasure.Email) error {
	raw, err := Build(m.from, e, m.now())
	if err != nil {
		return err
	}
	_, err = m.ses.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: &m.from,
		Destination:      &sestypes.Destination{ToAddresses: e.To},
		Content:          &sestypes.EmailContent{Raw: &sestypes.RawMessage{Data: raw}},
	})
	if err != nil {
		return fmt.Errorf("ses send email: %w", err)
	}
	return nil
}

// Build renders e as a multipart/alternative MIME message.
func Build(from string, e erasure.Email, date time.Time) ([]byte, error) {
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("sender address: %w", err)
	}
	to := make([]string, 0, len(e.To))
	for _, t := range e.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("recipient address: %w", err)
		}
		to = append(to, a.String())
	}
	if len(to) == 0 {
		return nil, fmt.Errorf("no recipients")
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, part := range []struct{ ctype, content string }{
		{"text/plain; charset=UTF-8", e.Text},
		{"text/html; charset=UTF-8", e.HTML},
	} {
		pw, err := w.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.content)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}

	var msg bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	header("From", fromAddr.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(e.Subject)))
	header("Date", date.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+randomID()+"@"+domainOf(fromAddr.Address)+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "multipart/alternative; boundary="+w.Boundary())
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// oneLine removes every control character, line breaks included.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
