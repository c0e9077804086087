package loop

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// EnvContextFD names, in every handler's environment, the descriptor from
// which it reads its invocation context (see contextDoc). The same with and
// without --prespawn, so that a handler that reads it runs unchanged in both.
const EnvContextFD = "STREAMSTRAP_CONTEXT_FD"

// contextDoc is what a handler reads on descriptor EnvContextFD, written and
// closed just before its event reaches stdin: two lines.
//
// The first is for shells: `export NAME='value' …` with the very variables
// (and values) that the handler's environment has without --prespawn, empty
// ones left out, so `IFS= read -r ctx <&3 && eval "$ctx"` sets them. The
// second is one JSON object for everything else: requestId, deadlineMs (a
// number), invokedFunctionArn, traceId, clientContext, cognitoIdentity and
// tenantId, every field always there, "" when the Runtime API did not send it.
func contextDoc(inv *runtimeapi.Invocation) []byte {
	var b strings.Builder
	b.Grow(256 + 2*(len(inv.ClientContext)+len(inv.CognitoIdentity)))
	b.WriteString("export")
	vars := [...][2]string{
		{envRequestID, inv.RequestID},
		{envDeadlineMs, ""},
		{envFunctionARN, inv.FunctionARN},
		{envTraceID, inv.TraceID},
		{envClientContext, inv.ClientContext},
		{envCognitoIdentity, inv.CognitoIdentity},
		{envTenantID, inv.TenantID},
	}
	if inv.DeadlineMs != 0 {
		vars[1][1] = strconv.FormatInt(inv.DeadlineMs, 10)
	}
	for _, kv := range vars {
		if kv[1] == "" {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(kv[0])
		b.WriteByte('=')
		shellQuote(&b, kv[1])
	}
	b.WriteByte('\n')
	// The JSON object, every field always there (empty when the Runtime
	// API did not send it), encoded by hand as encoding/json would: this is
	// on every invocation's path to its handler.
	b.WriteString(`{"requestId":`)
	jsonString(&b, inv.RequestID)
	b.WriteString(`,"deadlineMs":`)
	b.WriteString(strconv.FormatInt(inv.DeadlineMs, 10))
	for _, kv := range [...][2]string{
		{`,"invokedFunctionArn":`, inv.FunctionARN},
		{`,"traceId":`, inv.TraceID},
		{`,"clientContext":`, inv.ClientContext},
		{`,"cognitoIdentity":`, inv.CognitoIdentity},
		{`,"tenantId":`, inv.TenantID},
	} {
		b.WriteString(kv[0])
		jsonString(&b, kv[1])
	}
	b.WriteByte('}')
	b.WriteByte('\n')
	return []byte(b.String())
}

// jsonString writes v as a JSON string exactly as encoding/json.Marshal
// does: ", \\ and control characters escaped, <, > and & as \\u003c etc.,
// U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func jsonString(b *strings.Builder, v string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(v); {
		if c := v[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b.WriteString(v[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(v[start:i])
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			b.WriteString(v[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b.WriteString(v[start:])
	b.WriteByte('"')
}

// shellQuote writes v in single quotes, each ' as '\”. A line break or NUL
// (which no HTTP header carries, but a local event might) becomes a space,
// so that the document's first line stays one line.
func shellQuote(b *strings.Builder, v string) {
	b.WriteByte('\'')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\'':
			b.WriteString(`'\''`)
		case '\n', '\r', 0:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}
