package handler

import (
	"errors"
	"fmt"
)

// splitWords splits a handler string into words like a POSIX shell:
// whitespace separates words, single quotes keep everything literally, double
// quotes allow the \" \\ \$ \` escapes (any other backslash inside double
// quotes is kept literally), and a backslash outside quotes escapes the next
// character. As in the shell, a backslash-newline pair outside single quotes
// is a line continuation and is removed. Quotes may glue parts of one word
// together (a'b'"c" is the word abc), and a pair of quotes with nothing
// between them is an empty word.
//
// No expansion ($VAR, globs, ~, command substitution) of any kind happens: the
// handler is not run by a shell, so what is written is what is executed.
//
// An unterminated quote, a trailing backslash or a string with no words is an
// error naming the problem.
func splitWords(s string) ([]string, error) {
	var (
		words  []string
		word   []byte
		inWord bool // true once the current word has started, even if it is still empty ('')
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			if inWord {
				words = append(words, string(word))
				word, inWord = word[:0], false
			}
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("split handler %q: trailing backslash", s)
			}
			i++
			if s[i] != '\n' { // backslash-newline is a line continuation: nothing at all
				word = append(word, s[i])
				inWord = true
			}
		case c == '\'':
			end := indexByteFrom(s, i+1, '\'')
			if end < 0 {
				return nil, fmt.Errorf("split handler %q: unterminated single quote at offset %d", s, i)
			}
			word = append(word, s[i+1:end]...)
			inWord = true
			i = end
		case c == '"':
			start := i
			closed := false
			for i++; i < len(s); i++ {
				c := s[i]
				if c == '"' {
					closed = true
					break
				}
				if c == '\\' && i+1 < len(s) {
					switch s[i+1] {
					case '"', '\\', '$', '`':
						word = append(word, s[i+1])
						i++
						continue
					case '\n':
						i++
						continue
					}
				}
				word = append(word, c)
			}
			if !closed {
				return nil, fmt.Errorf("split handler %q: unterminated double quote at offset %d", s, start)
			}
			inWord = true
		default:
			word = append(word, c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, string(word))
	}
	if len(words) == 0 {
		return nil, errEmptyHandler
	}
	return words, nil
}

// errEmptyHandler is returned for a handler string without any word; it is a
// sentinel so that splitWords and resolve report the same text.
var errEmptyHandler = errors.New("empty handler: no program to run")

// isSpace reports whether c separates words. Newline counts too: a handler
// string from an environment variable or a file may well end with one.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// indexByteFrom returns the index of the first c in s at or after from, or -1.
func indexByteFrom(s string, from int, c byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
