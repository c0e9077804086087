package runtimeapitest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// validateErrorType checks an error-type header or trailer value.
func validateErrorType(v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("error type %q contains CR or LF", v)
	}
	if !errorTypeRE.MatchString(v) {
		return fmt.Errorf("error type %q does not match %s", v, errorTypeRE)
	}
	return nil
}

// validateErrorJSON checks the shape of an error document: a JSON object
// with string errorType and errorMessage, and stackTrace (if present) an
// array of strings.
func validateErrorJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return fmt.Errorf("error document is not a JSON object: %.200q", b)
	}
	for _, k := range []string{"errorType", "errorMessage"} {
		v, ok := m[k]
		if !ok {
			return fmt.Errorf("error document has no %q field: %.200q", k, b)
		}
		if _, ok := v.(string); !ok {
			return fmt.Errorf("error document field %q is not a string: %.200q", k, b)
		}
	}
	if st, ok := m["stackTrace"]; ok {
		arr, ok := st.([]any)
		if !ok {
			return fmt.Errorf("error document field \"stackTrace\" is not an array: %.200q", b)
		}
		for _, e := range arr {
			if _, ok := e.(string); !ok {
				return fmt.Errorf("error document field \"stackTrace\" has a non-string element: %.200q", b)
			}
		}
	}
	return nil
}

// errorTypeRE is the error-type shape the project requires in the
// Lambda-Runtime-Function-Error-Type header and trailer.
var errorTypeRE = regexp.MustCompile(`^(Runtime|Function)\.[A-Z][a-zA-Z]+$`)
