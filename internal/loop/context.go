package loop

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// EnvContextFD names, in every handler's environment, the descriptor from
// which it reads its invocation context (see contextDoc). The same with and
// without --prespawn, so that a handler that reads it runs unchanged in both.
const EnvContextFD = "STREAMSTRAP_CONTEXT_FD"

// contextJSON is the second line of the context document. Every field is
// always there, empty when the Runtime API did not send it.
type contextJSON struct {
	RequestID          string `json:"requestId"`
	DeadlineMs         int64  `json:"deadlineMs"`
	InvokedFunctionArn string `json:"invokedFunctionArn"`
	TraceID            string `json:"traceId"`
	ClientContext      string `json:"clientContext"`
	CognitoIdentity    string `json:"cognitoIdentity"`
	TenantID           string `json:"tenantId"`
}

// contextDoc is what a handler reads on descriptor EnvContextFD, written and
// closed just before its event reaches stdin: two lines.
//
// The first is for shells: `export NAME='value' …` with the very variables
// (and values) that the handler's environment has without --prespawn, empty
// ones left out, so `IFS= read -r ctx <&3 && eval "$ctx"` sets them. The
// second is one JSON object (contextJSON) for everything else.
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
	doc, _ := json.Marshal(contextJSON{ // strings and a number: cannot fail
		RequestID:          inv.RequestID,
		DeadlineMs:         inv.DeadlineMs,
		InvokedFunctionArn: inv.FunctionARN,
		TraceID:            inv.TraceID,
		ClientContext:      inv.ClientContext,
		CognitoIdentity:    inv.CognitoIdentity,
		TenantID:           inv.TenantID,
	})
	b.Write(doc)
	b.WriteByte('\n')
	return []byte(b.String())
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
