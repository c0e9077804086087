// Command forkexec is the spawn floor of the benchmark: for each line read
// from stdin it runs the handler (its arguments) once and waits for it, then
// writes one line to stdout. With -pipes (the default) it starts the handler
// with os/exec and two pipes, the event written to stdin and stdout read to
// its end, as a streaming bootstrap must; with -pipes=false it calls
// syscall.ForkExec and wait4 with nothing else.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	pipes := flag.Bool("pipes", true, "os/exec with stdin and stdout pipes (false: bare syscall.ForkExec)")
	flag.Parse()
	argv := flag.Args()
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "usage: forkexec [-pipes=false] handler [args...]")
		os.Exit(2)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "forkexec:", err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if *pipes {
			err = viaExec(path, argv)
		} else {
			err = viaForkExec(path, argv)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "forkexec:", err)
			os.Exit(1)
		}
		os.Stdout.Write([]byte("\n"))
	}
}

var event = []byte(`{}`)

func viaExec(path string, argv []string) error {
	cmd := exec.Command(path, argv[1:]...)
	w, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	w.Write(event) // the handler may exit without reading
	w.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return cmd.Wait()
}

func viaForkExec(path string, argv []string) error {
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		return err
	}
	var ws syscall.WaitStatus
	_, err = syscall.Wait4(pid, &ws, 0, nil)
	return err
}
