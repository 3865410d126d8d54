package stix

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The STIX patterning language (STIX 2.1 part 9; 2.0 part 5) parsed in
// full, so that a pattern is either rejected as malformed (SyntaxError) or
// understood well enough to say precisely why ledgerguard cannot share it
// (UnsupportedError). The grammar follows OASIS's STIXPattern.g4:
//
//	pattern        = obsFollowed EOF
//	obsFollowed    = obsOr { "FOLLOWEDBY" obsOr }
//	obsOr          = obsAnd { "OR" obsAnd }
//	obsAnd         = obsQualified { "AND" obsQualified }
//	obsQualified   = obsPrimary { qualifier }
//	obsPrimary     = "[" cmpOr "]" | "(" obsFollowed ")"
//	qualifier      = "WITHIN" number "SECONDS" | "REPEATS" int "TIMES"
//	               | "START" timestamp "STOP" timestamp
//	cmpOr          = cmpAnd { "OR" cmpAnd }
//	cmpAnd         = propTest { "AND" propTest }
//	propTest       = "(" cmpOr ")" | "EXISTS" path
//	               | path ["NOT"] op literal | path ["NOT"] "IN" set
//	               | path ["NOT"] ("LIKE"|"MATCHES"|"ISSUBSET"|"ISSUPERSET") string
//	path           = type ":" (ident | string) { "." (ident | string) | "[" (int | "*") "]" }
//
// Keywords are upper case, booleans lower case, strings single-quoted with
// only \' and \\ as escapes, exactly as the reference grammar has them.

// maxPatternDepth bounds nesting (parentheses, brackets) so a hostile
// pattern cannot exhaust the stack.
const maxPatternDepth = 64

// MaxPatternBytes bounds one pattern's text.
const MaxPatternBytes = 16 << 10

// SyntaxError is a pattern that is not valid STIX patterning.
type SyntaxError struct {
	Offset int // byte offset into the pattern
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("pattern syntax error at byte %d: %s", e.Offset, e.Msg)
}

// UnsupportedError is a valid pattern that ledgerguard cannot share as
// indicators: only equality comparisons (and IN sets) on the object paths
// of [PatternPaths], joined by OR, are expressible.
type UnsupportedError struct {
	Reason string
}

func (e *UnsupportedError) Error() string { return e.Reason }

type tokKind int

const (
	tEOF tokKind = iota
	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tStar
	tOp // = == != <> < <= > >=
	tString
	tInt
	tFloat
	tHex
	tBinary
	tTimestamp
	tBool
	tIdent
	tKeyword
)

type token struct {
	kind tokKind
	text string // raw text; for tString the unescaped value
	off  int
}

var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "FOLLOWEDBY": true, "LIKE": true, "MATCHES": true,
	"ISSUPERSET": true, "ISSUBSET": true, "EXISTS": true, "LAST": true, "IN": true, "START": true,
	"STOP": true, "SECONDS": true, "WITHIN": true, "REPEATS": true, "TIMES": true,
}

func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f':
			i++
			continue
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(s[i:])
			if isPatternSpace(r) {
				i += n
				continue
			}
			return nil, &SyntaxError{i, fmt.Sprintf("unexpected character %q", r)}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, &SyntaxError{i, "unterminated comment"}
			}
			i += end + 4
			continue
		case strings.HasPrefix(s[i:], "//"):
			end := strings.IndexAny(s[i:], "\r\n")
			if end < 0 {
				end = len(s) - i
			}
			i += end
			continue
		}
		start := i
		switch c {
		case '[':
			out, i = append(out, token{tLBrack, "[", i}), i+1
		case ']':
			out, i = append(out, token{tRBrack, "]", i}), i+1
		case '(':
			out, i = append(out, token{tLParen, "(", i}), i+1
		case ')':
			out, i = append(out, token{tRParen, ")", i}), i+1
		case ':':
			out, i = append(out, token{tColon, ":", i}), i+1
		case ',':
			out, i = append(out, token{tComma, ",", i}), i+1
		case '*':
			out, i = append(out, token{tStar, "*", i}), i+1
		case '=':
			n := 1
			if strings.HasPrefix(s[i:], "==") {
				n = 2
			}
			out, i = append(out, token{tOp, "=", i}), i+n
		case '!':
			if !strings.HasPrefix(s[i:], "!=") {
				return nil, &SyntaxError{i, "'!' must be followed by '='"}
			}
			out, i = append(out, token{tOp, "!=", i}), i+2
		case '<':
			switch {
			case strings.HasPrefix(s[i:], "<>"):
				out, i = append(out, token{tOp, "!=", i}), i+2
			case strings.HasPrefix(s[i:], "<="):
				out, i = append(out, token{tOp, "<=", i}), i+2
			default:
				out, i = append(out, token{tOp, "<", i}), i+1
			}
		case '>':
			if strings.HasPrefix(s[i:], ">=") {
				out, i = append(out, token{tOp, ">=", i}), i+2
			} else {
				out, i = append(out, token{tOp, ">", i}), i+1
			}
		case '\'':
			v, n, err := lexString(s, i)
			if err != nil {
				return nil, err
			}
			out, i = append(out, token{tString, v, start}), i+n
		default:
			switch {
			case (c == 'h' || c == 'b' || c == 't') && i+1 < len(s) && s[i+1] == '\'':
				t, n, err := lexPrefixed(s, i)
				if err != nil {
					return nil, err
				}
				out, i = append(out, t), i+n
			case c == '+' || c == '-' || c == '.' || isDigit(c):
				t, n, err := lexNumber(s, i)
				if err != nil {
					return nil, err
				}
				out, i = append(out, t), i+n
			case isIdentStart(c):
				j := i + 1
				for j < len(s) && isIdentPart(s[j]) {
					j++
				}
				w := s[i:j]
				switch {
				case keywords[w]:
					out = append(out, token{tKeyword, w, i})
				case w == "true" || w == "false":
					out = append(out, token{tBool, w, i})
				default:
					out = append(out, token{tIdent, w, i})
				}
				i = j
			default:
				return nil, &SyntaxError{i, fmt.Sprintf("unexpected character %q", rune(c))}
			}
		}
	}
	return append(out, token{tEOF, "", len(s)}), nil
}

// isPatternSpace reports the non-ASCII white space the grammar skips.
func isPatternSpace(r rune) bool {
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '-' }

// lexString reads a quoted string at s[i]: it returns the unescaped value
// and the number of bytes consumed.
func lexString(s string, i int) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for j < len(s) {
		switch s[j] {
		case '\'':
			return b.String(), j + 1 - i, nil
		case '\\':
			if j+1 < len(s) && (s[j+1] == '\'' || s[j+1] == '\\') {
				b.WriteByte(s[j+1])
				j += 2
				continue
			}
			return "", 0, &SyntaxError{j, `a string may only escape \' and \\`}
		default:
			b.WriteByte(s[j])
			j++
		}
	}
	return "", 0, &SyntaxError{i, "unterminated string"}
}

// lexPrefixed reads h'..' (hex), b'..' (base64) or t'..' (timestamp).
func lexPrefixed(s string, i int) (token, int, error) {
	end := strings.IndexByte(s[i+2:], '\'')
	if end < 0 {
		return token{}, 0, &SyntaxError{i, "unterminated literal"}
	}
	body := s[i+2 : i+2+end]
	n := end + 3
	switch s[i] {
	case 'h':
		if len(body)%2 != 0 || strings.TrimLeft(body, "0123456789abcdefABCDEF") != "" {
			return token{}, 0, &SyntaxError{i, "hex literal needs pairs of hex digits"}
		}
		return token{tHex, body, i}, n, nil
	case 'b':
		if !isBase64(body) {
			return token{}, 0, &SyntaxError{i, "binary literal is not base64"}
		}
		return token{tBinary, body, i}, n, nil
	default:
		if !isStixTimestamp(body) {
			return token{}, 0, &SyntaxError{i, "timestamp literal must be YYYY-MM-DDTHH:MM:SS[.s]Z"}
		}
		return token{tTimestamp, body, i}, n, nil
	}
}

func isBase64(s string) bool {
	if len(s)%4 != 0 {
		return false
	}
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c == '=' {
			rest := s[k:]
			return (rest == "=" || rest == "==") && len(s) >= 4
		}
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// isStixTimestamp checks the grammar's timestamp shape (the date and time
// fields' ranges included, as the grammar's character classes have them).
func isStixTimestamp(s string) bool {
	if len(s) < 20 || s[len(s)-1] != 'Z' {
		return false
	}
	const shape = "dddd-dd-ddTdd:dd:dd"
	for k := 0; k < len(shape); k++ {
		if shape[k] == 'd' {
			if !isDigit(s[k]) {
				return false
			}
		} else if s[k] != shape[k] {
			return false
		}
	}
	frac := s[19 : len(s)-1]
	if frac != "" {
		if frac[0] != '.' || len(frac) < 2 || strings.TrimLeft(frac[1:], "0123456789") != "" {
			return false
		}
	}
	mon, day := (s[5]-'0')*10+s[6]-'0', (s[8]-'0')*10+s[9]-'0'
	hh, mm, ss := (s[11]-'0')*10+s[12]-'0', (s[14]-'0')*10+s[15]-'0', (s[17]-'0')*10+s[18]-'0'
	return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hh <= 23 && mm <= 59 && ss <= 60
}

// lexNumber reads an int or float literal with an optional sign; a '.'
// not followed by a digit is the path-step dot.
func lexNumber(s string, i int) (token, int, error) {
	j := i
	if s[j] == '+' || s[j] == '-' {
		j++
	}
	digits := j
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	intPart := s[digits:j]
	if j < len(s) && s[j] == '.' && j+1 < len(s) && isDigit(s[j+1]) {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return token{tFloat, s[i:j], i}, j - i, nil
	}
	if intPart == "" {
		if s[i] == '.' {
			return token{tDot, ".", i}, 1, nil
		}
		return token{}, 0, &SyntaxError{i, fmt.Sprintf("%q must be followed by a number", s[i])}
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return token{}, 0, &SyntaxError{i, "integers have no leading zeros"}
	}
	return token{tInt, s[i:j], i}, j - i, nil
}

// Pattern is a parsed STIX pattern.
type Pattern struct {
	root obsExpr
}

type obsExpr interface{ isObs() }

// obsBinary joins two observation expressions with AND, OR or FOLLOWEDBY.
type obsBinary struct {
	op   string
	l, r obsExpr
}

// obsQualified is an observation expression with a WITHIN, REPEATS or
// START/STOP qualifier.
type obsQualified struct {
	x    obsExpr
	qual string
}

// obsSimple is one bracketed comparison expression.
type obsSimple struct{ cmp cmpExpr }

func (obsBinary) isObs()    {}
func (obsQualified) isObs() {}
func (obsSimple) isObs()    {}

type cmpExpr interface{ isCmp() }

// cmpBinary joins two comparison expressions with AND or OR.
type cmpBinary struct {
	op   string
	l, r cmpExpr
}

// propTest compares an object path with literals.
type propTest struct {
	path   ObjectPath
	not    bool
	op     string // = != < <= > >= IN LIKE MATCHES ISSUBSET ISSUPERSET EXISTS
	values []token
}

func (cmpBinary) isCmp() {}
func (propTest) isCmp()  {}

// ObjectPath is an object path: the object type and the property steps
// (a key, or an index where Index is set; -1 stands for '*').
type ObjectPath struct {
	Type  string
	Steps []PathStep
}

// PathStep is one step of an object path.
type PathStep struct {
	Key     string
	Index   int
	IsIndex bool
}

// String writes the path as a pattern would, quoting keys that are not
// plain identifiers.
func (p ObjectPath) String() string {
	var b strings.Builder
	b.WriteString(p.Type)
	for i, s := range p.Steps {
		switch {
		case s.IsIndex && s.Index < 0:
			b.WriteString("[*]")
		case s.IsIndex:
			fmt.Fprintf(&b, "[%d]", s.Index)
		default:
			if i == 0 {
				b.WriteByte(':')
			} else {
				b.WriteByte('.')
			}
			if isPlainKey(s.Key) {
				b.WriteString(s.Key)
			} else {
				b.WriteString(quote(s.Key))
			}
		}
	}
	return b.String()
}

func isPlainKey(k string) bool {
	if k == "" || !isIdentStart(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isIdentStart(k[i]) && !isDigit(k[i]) {
			return false
		}
	}
	return true
}

// quote writes s as a pattern string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

type parser struct {
	toks  []token
	pos   int
	depth int
}

// ParsePattern parses a STIX 2.0/2.1 pattern. It returns a *SyntaxError
// for text that is not a pattern.
func ParsePattern(s string) (*Pattern, error) {
	if len(s) > MaxPatternBytes {
		return nil, &SyntaxError{0, fmt.Sprintf("pattern of %d bytes exceeds the limit of %d", len(s), MaxPatternBytes)}
	}
	if !utf8.ValidString(s) {
		return nil, &SyntaxError{0, "pattern is not valid UTF-8"}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	root, err := p.obsFollowed()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t, "the end of the pattern")
	}
	return &Pattern{root: root}, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) isKeyword(w string) bool {
	t := p.peek()
	return t.kind == tKeyword && t.text == w
}

func (p *parser) unexpected(t token, want string) error {
	if t.kind == tEOF {
		return &SyntaxError{t.off, "unexpected end of pattern, expected " + want}
	}
	return &SyntaxError{t.off, fmt.Sprintf("unexpected %q, expected %s", t.text, want)}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxPatternDepth {
		return &SyntaxError{p.peek().off, fmt.Sprintf("nested deeper than %d levels", maxPatternDepth)}
	}
	return nil
}

func (p *parser) obsFollowed() (obsExpr, error) {
	return p.binaryObs("FOLLOWEDBY", p.obsOr)
}

func (p *parser) obsOr() (obsExpr, error) { return p.binaryObs("OR", p.obsAnd) }

func (p *parser) obsAnd() (obsExpr, error) { return p.binaryObs("AND", p.obsQualified) }

func (p *parser) binaryObs(op string, sub func() (obsExpr, error)) (obsExpr, error) {
	return binary(p, op, sub, func(l, r obsExpr) obsExpr { return obsBinary{op, l, r} })
}

// binary parses sub (op sub)*, left-associative, joining with join: the
// one shape of every binary level of the grammar (observation and
// comparison expressions alike).
func binary[T any](p *parser, op string, sub func() (T, error), join func(l, r T) T) (T, error) {
	l, err := sub()
	if err != nil {
		return l, err
	}
	for p.isKeyword(op) {
		p.next()
		r, err := sub()
		if err != nil {
			return r, err
		}
		l = join(l, r)
	}
	return l, nil
}

func (p *parser) obsQualified() (obsExpr, error) {
	x, err := p.obsPrimary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tKeyword {
			return x, nil
		}
		switch t.text {
		case "WITHIN":
			p.next()
			n := p.next()
			if (n.kind != tInt && n.kind != tFloat) || strings.HasPrefix(n.text, "-") {
				return nil, p.unexpected(n, "a positive number after WITHIN")
			}
			if !p.isKeyword("SECONDS") {
				return nil, p.unexpected(p.peek(), "SECONDS")
			}
			p.next()
			x = obsQualified{x, "WITHIN"}
		case "REPEATS":
			p.next()
			n := p.next()
			if n.kind != tInt || strings.HasPrefix(n.text, "-") {
				return nil, p.unexpected(n, "a positive integer after REPEATS")
			}
			if !p.isKeyword("TIMES") {
				return nil, p.unexpected(p.peek(), "TIMES")
			}
			p.next()
			x = obsQualified{x, "REPEATS"}
		case "START":
			p.next()
			if n := p.next(); n.kind != tTimestamp {
				return nil, p.unexpected(n, "a timestamp after START")
			}
			if !p.isKeyword("STOP") {
				return nil, p.unexpected(p.peek(), "STOP")
			}
			p.next()
			if n := p.next(); n.kind != tTimestamp {
				return nil, p.unexpected(n, "a timestamp after STOP")
			}
			x = obsQualified{x, "START/STOP"}
		default:
			return x, nil
		}
	}
}

func (p *parser) obsPrimary() (obsExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.next()
	switch t.kind {
	case tLBrack:
		c, err := p.cmpOr()
		if err != nil {
			return nil, err
		}
		if n := p.next(); n.kind != tRBrack {
			return nil, p.unexpected(n, "']'")
		}
		return obsSimple{c}, nil
	case tLParen:
		x, err := p.obsFollowed()
		if err != nil {
			return nil, err
		}
		if n := p.next(); n.kind != tRParen {
			return nil, p.unexpected(n, "')'")
		}
		return x, nil
	default:
		return nil, p.unexpected(t, "'[' or '('")
	}
}

func (p *parser) cmpOr() (cmpExpr, error) { return p.binaryCmp("OR", p.cmpAnd) }

func (p *parser) cmpAnd() (cmpExpr, error) { return p.binaryCmp("AND", p.propTest) }

func (p *parser) binaryCmp(op string, sub func() (cmpExpr, error)) (cmpExpr, error) {
	return binary(p, op, sub, func(l, r cmpExpr) cmpExpr { return cmpBinary{op, l, r} })
}

func (p *parser) propTest() (cmpExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		c, err := p.cmpOr()
		if err != nil {
			return nil, err
		}
		if n := p.next(); n.kind != tRParen {
			return nil, p.unexpected(n, "')'")
		}
		return c, nil
	}
	if p.isKeyword("EXISTS") {
		p.next()
		path, err := p.objectPath()
		if err != nil {
			return nil, err
		}
		return propTest{path: path, op: "EXISTS"}, nil
	}
	path, err := p.objectPath()
	if err != nil {
		return nil, err
	}
	pt := propTest{path: path}
	if p.isKeyword("NOT") {
		p.next()
		pt.not = true
	}
	op := p.next()
	switch {
	case op.kind == tOp:
		pt.op = op.text
		v := p.next()
		if !isLiteral(v.kind) {
			return nil, p.unexpected(v, "a literal")
		}
		if (op.text != "=" && op.text != "!=") && v.kind == tBool {
			return nil, p.unexpected(v, "an orderable literal")
		}
		pt.values = []token{v}
	case op.kind == tKeyword && op.text == "IN":
		pt.op = "IN"
		if n := p.next(); n.kind != tLParen {
			return nil, p.unexpected(n, "'(' to open the IN set")
		}
		if p.peek().kind != tRParen {
			for {
				v := p.next()
				if !isLiteral(v.kind) {
					return nil, p.unexpected(v, "a literal in the IN set")
				}
				pt.values = append(pt.values, v)
				if p.peek().kind != tComma {
					break
				}
				p.next()
			}
		}
		if n := p.next(); n.kind != tRParen {
			return nil, p.unexpected(n, "')' to close the IN set")
		}
	case op.kind == tKeyword && (op.text == "LIKE" || op.text == "MATCHES" || op.text == "ISSUBSET" || op.text == "ISSUPERSET"):
		pt.op = op.text
		v := p.next()
		if v.kind != tString {
			return nil, p.unexpected(v, "a string after "+op.text)
		}
		pt.values = []token{v}
	default:
		return nil, p.unexpected(op, "a comparison operator")
	}
	return pt, nil
}

func isLiteral(k tokKind) bool {
	switch k {
	case tString, tInt, tFloat, tHex, tBinary, tTimestamp, tBool:
		return true
	}
	return false
}

func (p *parser) objectPath() (ObjectPath, error) {
	t := p.next()
	if t.kind != tIdent {
		return ObjectPath{}, p.unexpected(t, "an object type")
	}
	path := ObjectPath{Type: t.text}
	if n := p.next(); n.kind != tColon {
		return ObjectPath{}, p.unexpected(n, "':' after the object type")
	}
	first := p.next()
	switch {
	case first.kind == tString:
		path.Steps = append(path.Steps, PathStep{Key: first.text})
	case first.kind == tIdent && !strings.Contains(first.text, "-"):
		path.Steps = append(path.Steps, PathStep{Key: first.text})
	default:
		return ObjectPath{}, p.unexpected(first, "a property name (quote names holding '-')")
	}
	for {
		switch p.peek().kind {
		case tDot:
			p.next()
			k := p.next()
			switch {
			case k.kind == tString:
				path.Steps = append(path.Steps, PathStep{Key: k.text})
			case k.kind == tIdent && !strings.Contains(k.text, "-"):
				path.Steps = append(path.Steps, PathStep{Key: k.text})
			default:
				return ObjectPath{}, p.unexpected(k, "a property name after '.' (quote names holding '-')")
			}
		case tLBrack:
			p.next()
			k := p.next()
			switch k.kind {
			case tStar:
				path.Steps = append(path.Steps, PathStep{Index: -1, IsIndex: true})
			case tInt:
				var n int
				if _, err := fmt.Sscanf(k.text, "%d", &n); err != nil {
					return ObjectPath{}, &SyntaxError{k.off, "list index out of range"}
				}
				path.Steps = append(path.Steps, PathStep{Index: n, IsIndex: true})
			default:
				return ObjectPath{}, p.unexpected(k, "a list index or '*'")
			}
			if n := p.next(); n.kind != tRBrack {
				return ObjectPath{}, p.unexpected(n, "']' after the list index")
			}
		default:
			return path, nil
		}
	}
}
