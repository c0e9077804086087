package preflight

import "testing"

func TestPlanEnv(t *testing.T) {
	const path = "/usr/bin:/bin"
	tests := []struct {
		arg   string
		noArg bool // "#!/usr/bin/env" alone
		want  envPlan
	}{
		{noArg: true, want: envPlan{kind: envNoProgram}},
		{arg: "python3", want: envPlan{kind: envRun, prog: "python3", path: path, pathSet: true}},
		{arg: "-S python3 -u", want: envPlan{kind: envRun, prog: "python3", path: path, pathSet: true}},
		{arg: "-Spython3", want: envPlan{kind: envRun, prog: "python3", path: path, pathSet: true}},
		{arg: "-vS -- node", want: envPlan{kind: envRun, prog: "node", path: path, pathSet: true}},
		{arg: "-S A=1 PATH=/opt/bin:/x node", want: envPlan{kind: envRun, prog: "node", path: "/opt/bin:/x", pathSet: true}},
		{arg: "-S PATH= node", want: envPlan{kind: envRun, prog: "node", path: "", pathSet: true}},
		{arg: "-S -i node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-iS node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S - node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S -u PATH node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S -uPATH node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S --unset=PATH node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S --unset PATH -0v node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S -i PATH=/a node", want: envPlan{kind: envRun, prog: "node", path: "/a", pathSet: true}},
		{arg: "-S --ignore-signal=PIPE --debug node", want: envPlan{kind: envRun, prog: "node", path: path, pathSet: true}},
		{arg: "-S A=1 -i node", want: envPlan{kind: envRun, prog: "-i", path: path, pathSet: true}}, // options end at the first non-option
		{arg: "--split-string=node -x", want: envPlan{kind: envRun, prog: "node", path: path, pathSet: true}},
		{arg: "-", want: envPlan{kind: envNoProgram}},
		{arg: "-i", want: envPlan{kind: envNoProgram}},
		{arg: "A=1", want: envPlan{kind: envNoProgram}},
		{arg: "-S A=1", want: envPlan{kind: envNoProgram}},
		{arg: "-S -i --", want: envPlan{kind: envNoProgram}},
		{arg: "python3 -u", want: envPlan{kind: envUnsplit}},
		{arg: "-i python3", want: envPlan{kind: envUnsplit}},
		{arg: "A=1 python3", want: envPlan{kind: envUnsplit}},
		{arg: "-S", want: envPlan{kind: envUnsure}},    // the script's path is -S's string
		{arg: "-S -u", want: envPlan{kind: envUnsure}}, // and here -u's value
		{arg: "-S -C /x node", want: envPlan{kind: envUnsure}},
		{arg: `-S "a b" c`, want: envPlan{kind: envUnsure}},
		{arg: "-S ${X} c", want: envPlan{kind: envUnsure}},
		{arg: "-S --chd=/x node", want: envPlan{kind: envUnsure}},
		{arg: "-S -S x", want: envPlan{kind: envUnsure}},
		{arg: "-x", want: envPlan{kind: envUnsure}},
	}
	for _, tt := range tests {
		sb := shebang{interp: "/usr/bin/env", arg: tt.arg, hasArg: !tt.noArg}
		if got := planEnv(sb, path); got != tt.want {
			t.Errorf("planEnv(%q) = %+v, want %+v", tt.arg, got, tt.want)
		}
	}
	// An empty pathEnv is an unset PATH.
	if got := planEnv(shebang{interp: "env", arg: "sh", hasArg: true}, ""); got != (envPlan{kind: envRun, prog: "sh", path: defaultPath}) {
		t.Errorf("planEnv with PATH unset = %+v", got)
	}
}
