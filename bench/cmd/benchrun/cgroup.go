package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroup is a CPU-limited control group for the "128 MB" run.
type cgroup struct {
	dir   string // the group's directory
	procs string // the file a pid is written to
}

// Lambda's CPU share at 128 MB: 1,769 MB is one vCPU.
const (
	quotaUs  = 7200
	periodUs = 100000
)

// newCgroup makes a group limited to quotaUs per periodUs, with cgroup v2
// (cpu.max) where the root offers the cpu controller, else v1
// (cpu.cfs_quota_us). It returns an error saying why not when neither works.
func newCgroup(name string) (*cgroup, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("not root")
	}
	if ctl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && hasWord(string(ctl), "cpu") {
		dir := filepath.Join("/sys/fs/cgroup", name)
		// The parent must delegate cpu to its children.
		if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+cpu"), 0); err != nil {
			return nil, fmt.Errorf("cgroup v2: enabling cpu in /sys/fs/cgroup/cgroup.subtree_control: %w", err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup v2: %w", err)
		}
		g := &cgroup{dir: dir, procs: filepath.Join(dir, "cgroup.procs")}
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quotaUs, periodUs), 0); err != nil {
			g.remove()
			return nil, fmt.Errorf("cgroup v2: writing cpu.max: %w", err)
		}
		return g, nil
	}
	root := "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err != nil {
		return nil, fmt.Errorf("no cgroup CPU controller: v2 root has no cpu controller and %s has no cpu.cfs_quota_us", root)
	}
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup v1: %w", err)
	}
	g := &cgroup{dir: dir, procs: filepath.Join(dir, "cgroup.procs")}
	for file, v := range map[string]int{"cpu.cfs_period_us": periodUs, "cpu.cfs_quota_us": quotaUs} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.Itoa(v)), 0); err != nil {
			g.remove()
			return nil, fmt.Errorf("cgroup v1: writing %s: %w", file, err)
		}
	}
	return g, nil
}

// add moves pid into the group; the children it forks later stay there.
func (g *cgroup) add(pid int) error {
	if err := os.WriteFile(g.procs, []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("adding pid %d to %s: %w", pid, g.dir, err)
	}
	return nil
}

// remove deletes the group; it must be empty.
func (g *cgroup) remove() error { return os.Remove(g.dir) }

// String describes the limit.
func (g *cgroup) String() string {
	return fmt.Sprintf("%s (%d µs per %d µs)", g.dir, quotaUs, periodUs)
}

func hasWord(s, w string) bool {
	return strings.Contains(" "+strings.Join(strings.Fields(s), " ")+" ", " "+w+" ")
}
