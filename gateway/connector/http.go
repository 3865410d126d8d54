package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxAnswer bounds how much of a receiver's answer is read.
const maxAnswer = 64 << 10

// Answer is a receiver's 2xx answer.
type Answer struct {
	StatusCode int
	Body       []byte
}

// Send performs req with c and classifies the result: a transport error or
// timeout is retryable; an HTTP status outside 2xx is an *Error retryable
// per [RetryableStatus], carrying the start of the body as its cause. The
// answer body is read up to 64 KiB.
func Send(ctx context.Context, c *http.Client, name string, req *http.Request) (Answer, error) {
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return Answer{}, Permanent(name, err) // shutdown, not the receiver
		}
		return Answer{}, Retryable(name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && resp.StatusCode/100 == 2 {
		// The receiver accepted but the answer broke off: it may have
		// acted; a retry with the same idempotency key is safe.
		return Answer{}, Retryable(name, fmt.Errorf("read answer: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		return Answer{}, &Error{Connector: name, Retryable: RetryableStatus(resp.StatusCode), StatusCode: resp.StatusCode,
			Err: errors.New(Snippet(body, 200))}
	}
	return Answer{StatusCode: resp.StatusCode, Body: body}, nil
}

// Snippet returns the start of b as one line of valid UTF-8, for details
// and errors.
func Snippet(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// Detail formats a success detail: "HTTP <code>", followed by the value
// at the dotted path field of a JSON answer when field is set and found.
func Detail(a Answer, field string) string {
	d := fmt.Sprintf("HTTP %d", a.StatusCode)
	if field == "" {
		return d
	}
	var v any
	if json.Unmarshal(a.Body, &v) != nil {
		return d
	}
	for _, part := range strings.Split(field, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return d
		}
		v = m[part]
	}
	switch x := v.(type) {
	case nil:
		return d
	case string:
		return d + " " + field + "=" + Snippet([]byte(x), 200)
	default:
		b, _ := json.Marshal(x)
		return d + " " + field + "=" + Snippet(b, 200)
	}
}
