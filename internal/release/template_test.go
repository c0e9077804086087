package release

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// CloudFormation short-form tags and the long-form keys they stand for.
var cfnTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!If": "Fn::If", "!Equals": "Fn::Equals",
	"!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or", "!Join": "Fn::Join",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap",
	"!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue", "!Base64": "Fn::Base64",
	"!Cidr": "Fn::Cidr",
}

// cfnValue turns a yaml.Node into plain Go values, short-form tags into
// their long form: `!Ref X` becomes map{"Ref": "X"}, `!GetAtt A.B` becomes
// map{"Fn::GetAtt": ["A", "B"]}.
func cfnValue(n *yaml.Node) (any, error) {
	if n.Kind == yaml.DocumentNode {
		return cfnValue(n.Content[0])
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: key %q repeated", n.Content[i].Line, k)
			}
			val, err := cfnValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			val, err := cfnValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		v = n.Value
	case yaml.AliasNode:
		return cfnValue(n.Alias)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		key, ok := cfnTags[n.Tag]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
		}
		if key == "Fn::GetAtt" {
			if s, ok := v.(string); ok {
				res, attr, _ := strings.Cut(s, ".")
				v = []any{res, attr}
			}
		}
		v = map[string]any{key: v}
	}
	return v, nil
}

type samTemplate struct {
	dir        string // deploy/
	params     map[string]map[string]any
	conditions map[string]any
	globals    map[string]any
	resources  map[string]map[string]any
	outputs    map[string]map[string]any
}

func loadTemplate(t *testing.T) *samTemplate {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deploy")
	b, err := os.ReadFile(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	v, err := cfnValue(&doc)
	if err != nil {
		t.Fatal(err)
	}
	top := v.(map[string]any)
	if top["Transform"] != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform is %v, want AWS::Serverless-2016-10-31", top["Transform"])
	}
	tpl := &samTemplate{dir: dir, params: map[string]map[string]any{}, resources: map[string]map[string]any{}, outputs: map[string]map[string]any{}}
	for k, p := range asMap(top["Parameters"]) {
		tpl.params[k] = asMap(p)
	}
	tpl.conditions = asMap(top["Conditions"])
	tpl.globals = asMap(asMap(top["Globals"])["Function"])
	for k, r := range asMap(top["Resources"]) {
		tpl.resources[k] = asMap(r)
	}
	for k, o := range asMap(top["Outputs"]) {
		tpl.outputs[k] = asMap(o)
	}
	return tpl
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

// resourceRef marks a Ref to a resource after evaluation.
type resourceRef string

// evaluator resolves intrinsic functions for one choice of parameters.
type evaluator struct {
	t      *testing.T
	tpl    *samTemplate
	params map[string]string
}

func (e *evaluator) condition(name string) bool {
	c, ok := e.tpl.conditions[name]
	if !ok {
		e.t.Fatalf("unknown condition %q", name)
	}
	b, ok := e.eval(c).(bool)
	if !ok {
		e.t.Fatalf("condition %q is not a boolean", name)
	}
	return b
}

func (e *evaluator) eval(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = e.eval(el)
		}
		return out
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				switch k {
				case "Ref":
					name := arg.(string)
					if p, ok := e.params[name]; ok {
						return p
					}
					if _, ok := e.tpl.resources[name]; ok {
						return resourceRef(name)
					}
					if strings.HasPrefix(name, "AWS::") {
						return "<" + name + ">"
					}
					e.t.Fatalf("Ref to unknown %q", name)
				case "Condition":
					return e.condition(arg.(string))
				case "Fn::Equals":
					l := arg.([]any)
					return fmt.Sprint(e.eval(l[0])) == fmt.Sprint(e.eval(l[1]))
				case "Fn::Not":
					return !e.eval(arg.([]any)[0]).(bool)
				case "Fn::And", "Fn::Or":
					acc := k == "Fn::And"
					for _, c := range arg.([]any) {
						b := e.eval(c).(bool)
						if k == "Fn::And" {
							acc = acc && b
						} else {
							acc = acc || b
						}
					}
					return acc
				case "Fn::If":
					l := arg.([]any)
					if e.condition(l[0].(string)) {
						return e.eval(l[1])
					}
					return e.eval(l[2])
				case "Fn::GetAtt":
					l := arg.([]any)
					return fmt.Sprintf("<%v.%v>", l[0], l[1])
				}
			}
		}
		out := map[string]any{}
		for k, el := range x {
			out[k] = e.eval(el)
		}
		return out
	}
	return v
}

// function returns a function's properties merged with Globals.Function
// the way SAM does (maps merged, lists appended, scalars replaced), and
// evaluated.
func (e *evaluator) function(name string) map[string]any {
	props := asMap(e.tpl.resources[name]["Properties"])
	return e.eval(mergeGlobals(e.tpl.globals, props)).(map[string]any)
}

func mergeGlobals(g, r any) any {
	gm, gok := g.(map[string]any)
	rm, rok := r.(map[string]any)
	if gok && rok && !isIntrinsic(gm) && !isIntrinsic(rm) {
		out := map[string]any{}
		for k, v := range gm {
			out[k] = v
		}
		for k, v := range rm {
			if gv, ok := out[k]; ok {
				out[k] = mergeGlobals(gv, v)
			} else {
				out[k] = v
			}
		}
		return out
	}
	gl, gok := g.([]any)
	rl, rok := r.([]any)
	if gok && rok {
		return append(append([]any{}, gl...), rl...)
	}
	if r == nil {
		return g
	}
	return r
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// scenarios: every allowed Architecture, with and without the interpreter
// layers.
func (tpl *samTemplate) scenarios(t *testing.T) []map[string]string {
	t.Helper()
	base := map[string]string{}
	var archValues []string
	for name, p := range tpl.params {
		base[name] = fmt.Sprint(p["Default"])
		if p["Default"] == nil {
			base[name] = ""
		}
		if name == "Architecture" {
			for _, v := range p["AllowedValues"].([]any) {
				archValues = append(archValues, v.(string))
			}
		}
	}
	if len(archValues) == 0 {
		t.Fatal("template has no Architecture parameter with AllowedValues")
	}
	var out []map[string]string
	for _, arch := range archValues {
		for _, layers := range []bool{false, true} {
			s := map[string]string{}
			for k, v := range base {
				s[k] = v
			}
			s["Architecture"] = arch
			if layers {
				s["PythonLayerArn"] = "arn:aws:lambda:us-east-1:123456789012:layer:python:1"
				s["NodeLayerArn"] = "arn:aws:lambda:us-east-1:123456789012:layer:node:1"
			}
			out = append(out, s)
		}
	}
	return out
}

func (tpl *samTemplate) ofType(typ string) []string {
	var names []string
	for name, r := range tpl.resources {
		if r["Type"] == typ {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

var lambdaHandler = regexp.MustCompile(`^[^\s]+$`) // Lambda's API: Handler, at most 128 characters

// shebang returns the interpreter words of a script's #! line.
func shebang(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if !strings.HasPrefix(line, "#!") {
		return nil
	}
	return strings.Fields(strings.TrimPrefix(line, "#!"))
}

func TestTemplateLayers(t *testing.T) {
	tpl := loadTemplate(t)
	layers := tpl.ofType("AWS::Serverless::LayerVersion")
	seen := map[string]string{}
	for _, name := range layers {
		props := asMap(tpl.resources[name]["Properties"])
		archs, _ := props["CompatibleArchitectures"].([]any)
		if len(archs) != 1 {
			t.Errorf("%s: CompatibleArchitectures %v, want exactly one", name, archs)
			continue
		}
		arch := archs[0].(string)
		if prev, dup := seen[arch]; dup {
			t.Errorf("%s and %s are both for %s", prev, name, arch)
		}
		seen[arch] = name
		if rt := fmt.Sprint(props["CompatibleRuntimes"]); rt != "[provided.al2023]" {
			t.Errorf("%s: CompatibleRuntimes %s, want [provided.al2023]", name, rt)
		}
		uri, _ := props["ContentUri"].(string)
		goarch := ""
		for _, a := range arches {
			if a.lambda == arch {
				goarch = a.goarch
			}
		}
		if want := "../dist/streamstrap-layer-" + goarch + ".zip"; uri != want {
			t.Errorf("%s (%s): ContentUri %q, want %q (from `make layer`)", name, arch, uri, want)
		}
	}
	for _, a := range arches {
		if _, ok := seen[a.lambda]; !ok {
			t.Errorf("no LayerVersion for %s", a.lambda)
		}
	}
}

// TestTemplateLayerContent: after `make layer`, every ContentUri names a zip
// whose bootstrap is built for the layer's architecture. The zips come from
// the test's own build (DIST in a temporary directory) so dist/ is not touched.
func TestTemplateLayerContent(t *testing.T) {
	b := artifacts(t)
	tpl := loadTemplate(t)
	repoDist := filepath.Join(repoRoot(t), "dist")
	for _, name := range tpl.ofType("AWS::Serverless::LayerVersion") {
		props := asMap(tpl.resources[name]["Properties"])
		uri := filepath.Join(tpl.dir, props["ContentUri"].(string))
		if filepath.Dir(uri) != repoDist {
			t.Errorf("%s: ContentUri %s is not in dist/", name, uri)
			continue
		}
		built := filepath.Join(b.dist[0], filepath.Base(uri))
		zr, err := zip.OpenReader(built)
		if err != nil {
			t.Errorf("%s: `make layer` does not make %s: %v", name, filepath.Base(uri), err)
			continue
		}
		arch := asMap(props)["CompatibleArchitectures"].([]any)[0].(string)
		for _, a := range arches {
			if a.lambda != arch || len(zr.File) == 0 {
				continue
			}
			content := readZipEntry(t, zr.File[0])
			checkStaticELF(t, name+" "+filepath.Base(uri), bytes.NewReader(content), a.goarch)
		}
		zr.Close()
	}
}

func TestTemplateFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	functions := tpl.ofType("AWS::Serverless::Function")
	if len(functions) < 6 {
		t.Fatalf("template has %d functions, want one per example (6)", len(functions))
	}
	for _, params := range tpl.scenarios(t) {
		e := &evaluator{t: t, tpl: tpl, params: params}
		arch := params["Architecture"]
		created := 0
		for _, name := range functions {
			if c, ok := tpl.resources[name]["Condition"].(string); ok && !e.condition(c) {
				continue
			}
			created++
			p := e.function(name)
			where := fmt.Sprintf("%s (Architecture=%s, interpreter layers=%v)", name, arch, params["PythonLayerArn"] != "")

			if p["Runtime"] != "provided.al2023" {
				t.Errorf("%s: Runtime %v, want provided.al2023", where, p["Runtime"])
			}
			if got := fmt.Sprint(p["Architectures"]); got != "["+arch+"]" {
				t.Errorf("%s: Architectures %s, want [%s]", where, got, arch)
			}
			url := asMap(p["FunctionUrlConfig"])
			if url["InvokeMode"] != "RESPONSE_STREAM" || url["AuthType"] != "NONE" {
				t.Errorf("%s: FunctionUrlConfig %v, want AuthType NONE, InvokeMode RESPONSE_STREAM", where, url)
			}
			if fmt.Sprint(p["Timeout"]) == "" || fmt.Sprint(p["Timeout"]) == "<nil>" {
				t.Errorf("%s: no Timeout", where)
			}

			// Exactly one streamstrap layer, of the function's architecture.
			var streamstrap, others []string
			for _, l := range p["Layers"].([]any) {
				switch ref := l.(type) {
				case resourceRef:
					lv := asMap(tpl.resources[string(ref)]["Properties"])
					if fmt.Sprint(lv["CompatibleArchitectures"]) != "["+arch+"]" {
						t.Errorf("%s: uses layer %s built for %v", where, ref, lv["CompatibleArchitectures"])
					}
					streamstrap = append(streamstrap, string(ref))
				case string:
					if ref == "" {
						t.Errorf("%s: an empty layer ARN", where)
					}
					others = append(others, ref)
				}
			}
			if len(streamstrap) != 1 {
				t.Errorf("%s: streamstrap layers %v, want exactly one", where, streamstrap)
			}

			// The handler: a word Lambda accepts, naming an executable in CodeUri
			// whose interpreter is there at run time.
			handler, _ := p["Handler"].(string)
			if !lambdaHandler.MatchString(handler) || len(handler) > 128 {
				t.Errorf("%s: Handler %q is not valid for Lambda (no spaces, at most 128 characters)", where, handler)
				continue
			}
			code := filepath.Join(tpl.dir, fmt.Sprint(p["CodeUri"]))
			if fi, err := os.Stat(code); err != nil || !fi.IsDir() {
				t.Errorf("%s: CodeUri %s is not a directory", where, code)
				continue
			}
			script := filepath.Join(code, handler)
			fi, err := os.Stat(script)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
				t.Errorf("%s: Handler %s is not an executable file in %s", where, handler, code)
				continue
			}
			interp := shebang(t, script)
			if len(interp) == 0 {
				t.Errorf("%s: %s has no #! line", where, handler)
				continue
			}
			prog := interp[0]
			if prog == "/usr/bin/env" && len(interp) > 1 {
				prog = interp[1]
			}
			switch filepath.Base(prog) {
			case "sh", "bash":
				// in the provided.al2023 image
			case "python3":
				if !contains(others, params["PythonLayerArn"]) {
					t.Errorf("%s: runs python3 but has no PythonLayerArn layer (provided.al2023 has no Python)", where)
				}
			case "node":
				if !contains(others, params["NodeLayerArn"]) {
					t.Errorf("%s: runs node but has no NodeLayerArn layer (provided.al2023 has no Node.js)", where)
				}
			default:
				t.Errorf("%s: interpreter %s is neither in provided.al2023 nor given by a layer", where, prog)
			}

			// The HTTP examples need the http mode.
			mode := asMap(asMap(p["Environment"])["Variables"])["STREAMSTRAP_MODE"]
			if strings.HasPrefix(handler, "http") != (mode == "http") {
				t.Errorf("%s: handler %s with STREAMSTRAP_MODE=%v", where, handler, mode)
			}
		}
		if created == 0 {
			t.Errorf("no function is created with %v", params)
		}
	}
}

// TestTemplateOutputs: a URL output for every function, under the same
// condition, each referring to the AWS::Lambda::Url SAM makes for it.
func TestTemplateOutputs(t *testing.T) {
	tpl := loadTemplate(t)
	urls := map[string]bool{}
	for name, o := range tpl.outputs {
		v := asMap(o["Value"])
		if ga, ok := v["Fn::GetAtt"].([]any); ok {
			res, attr := ga[0].(string), ga[1].(string)
			fn := strings.TrimSuffix(res, "Url")
			r, ok := tpl.resources[fn]
			if !ok || fn == res || attr != "FunctionUrl" || r["Type"] != "AWS::Serverless::Function" {
				t.Errorf("output %s: GetAtt %s.%s is not a function URL SAM generates", name, res, attr)
				continue
			}
			if asMap(r["Properties"])["FunctionUrlConfig"] == nil {
				t.Errorf("output %s: %s has no FunctionUrlConfig", name, fn)
			}
			if o["Condition"] != r["Condition"] {
				t.Errorf("output %s has condition %v, its function %v", name, o["Condition"], r["Condition"])
			}
			urls[fn] = true
		}
		if ref, ok := v["Ref"].(string); ok {
			if _, ok := tpl.resources[ref]; !ok {
				t.Errorf("output %s: Ref to unknown %s", name, ref)
			}
		}
	}
	for _, fn := range tpl.ofType("AWS::Serverless::Function") {
		if !urls[fn] {
			t.Errorf("no output with the URL of %s", fn)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
